import ArgumentParser
import Foundation
import MetronomeGenerator
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Processor-only cost of service graphs on pre-decoded batches of client/server edges, alone and with span metrics,
/// and the memory of a pending half-edge.
struct ServiceGraphsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-graphs",
        abstract: "ns/span for the service-graphs processor (Tempo's servicegraphs_* shapes), bytes per pending edge."
    )

    @Option(help: "Client/server edges per batch.") var edges = 100
    @Option(help: "Services in the mesh.") var services = 10
    @Option(help: "Measured pushes.") var iterations = 20_000
    @Option(help: "Pending half-edges to hold for the memory figure.") var pending = 1_000_000
    @Option(help: "Processor configuration: default, or prod (7 resource dimensions with the client/server prefix).")
    var profile = Profile.default
    @Option(help: "generate_native_histograms: classic, native or both (spec §5.4).")
    var histograms = NativeHistogramSettings.Mode.classic

    /// Configurations shaped like Tempo's benchmarks of the same names.
    enum Profile: String, ExpressibleByArgument {
        /// `servicegraphs_default`.
        case `default`
        /// `servicegraphs_prod_7dims_prefix`.
        case prod

        static let dimensions = [
            "cloud.availability_zone", "cloud.region", "deployment.environment", "k8s.cluster.name",
            "k8s.namespace.name", "service.namespace", "service.version",
        ]

        func apply(to configuration: inout ServiceGraphsProcessor.Configuration) {
            guard self == .prod else { return }
            configuration.dimensions = Self.dimensions
            configuration.enableClientServerPrefix = true
        }
    }

    /// One batch of ``edgeRequest(edges:services:trace:clientsOnly:nowNanos:)``.
    func batch(trace: Int, clientsOnly: Bool = false) throws -> SpanBatch {
        let request = Self.edgeRequest(
            edges: edges,
            services: services,
            trace: trace,
            clientsOnly: clientsOnly,
            nowNanos: 1_700_000_000_000_000_000
        )
        return try SpanBatch(protobuf: request.serializedBytes())
    }

    /// `edges` CLIENT spans and their SERVER children (unless `clientsOnly`) spread over `services` resources with
    /// the 7 prod-profile resource attributes, edge `i` in trace (`trace`, `i`), ending by `nowNanos`.
    static func edgeRequest(edges: Int, services: Int, trace: Int, clientsOnly: Bool, nowNanos now: UInt64)
        -> OTLPFixtures.Request
    {
        var spansByService = [[OTLPFixtures.Span]](repeating: [], count: services)
        for edge in 0..<edges {
            let traceID = withUnsafeBytes(of: (UInt64(trace).bigEndian, UInt64(edge + 1).bigEndian)) { Data($0) }
            let clientID = withUnsafeBytes(of: UInt64(2 * edge + 1).bigEndian) { Data($0) }
            let serverID = withUnsafeBytes(of: UInt64(2 * edge + 2).bigEndian) { Data($0) }
            let caller = edge % services
            let callee = (edge * 7 + 3) % services
            spansByService[caller].append(
                .with {
                    $0.traceID = traceID
                    $0.spanID = clientID
                    $0.name = "GET /api/\(callee)"
                    $0.kind = .client
                    $0.startTimeUnixNano = now - 30_000_000
                    $0.endTimeUnixNano = now
                }
            )
            if !clientsOnly {
                spansByService[callee].append(
                    .with {
                        $0.traceID = traceID
                        $0.spanID = serverID
                        $0.parentSpanID = clientID
                        $0.name = "GET /api/\(callee)"
                        $0.kind = .server
                        $0.startTimeUnixNano = now - 28_000_000
                        $0.endTimeUnixNano = now - 5_000_000
                    }
                )
            }
        }
        return OTLPFixtures.Request.with {
            $0.resourceSpans = spansByService.enumerated().map { service, spans in
                OTLPFixtures.resourceSpans(
                    [OTLPFixtures.attribute("service.name", "service-\(service)")]
                        + Profile.dimensions.map { OTLPFixtures.attribute($0, "\($0)-value-\(service % 3)") },
                    spans
                )
            }
        }
    }

    func generator(_ processors: [String]) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = processors
        configuration.registry.instanceLabel = "bench"
        profile.apply(to: &configuration.serviceGraphs)
        configuration.nativeHistograms.mode = histograms
        return Generator(tenant: .singleTenant, configuration: configuration)
    }

    func run() throws {
        let batches = try (0..<64).map { try batch(trace: $0 + 1) }
        for processors in [[ServiceGraphsProcessor.name], [ServiceGraphsProcessor.name, SpanMetricsProcessor.name]] {
            let generator = generator(processors)
            var index = 0
            Measurement.run(iterations: iterations) {
                let batch = batches[index % batches.count]
                index += 1
                _ = generator.push(batch, nowMs: 1_700_000_000_000)
                return batch.spanCount
            }.report("\(processors.joined(separator: " + ")) (\(profile.rawValue)), \(edges) edges per batch")
        }

        // Memory: `pending` client halves waiting for servers that never come.
        guard pending > 0 else { return }
        let generator = generator([ServiceGraphsProcessor.name])
        let halves = try (0..<(pending / edges)).map { try batch(trace: 1_000_000 + $0, clientsOnly: true) }
        let before = residentBytes()
        for batch in halves { _ = generator.push(batch, nowMs: 1_700_000_000_000) }
        let held = generator.pending
        let measured = residentBytes() - before
        print(
            "pending half-edges: \(held.count); accounted \(held.bytes / max(1, held.count)) bytes each,"
                + " resident growth \(measured / max(1, held.count)) bytes each (\(measured >> 20) MiB)"
        )
    }

    /// The process's resident set size, from /proc/self/statm.
    private func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}
