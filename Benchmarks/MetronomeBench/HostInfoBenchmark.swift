import ArgumentParser
import MetronomeGenerator
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Processor-only cost of host-info on pre-decoded batches: per resource, a scan of its attributes for the host
/// identifiers, then one gauge update.
struct HostInfoBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-info",
        abstract: "ns/span and ns/resource for the host-info processor, alone and with span metrics."
    )

    @Option(help: "Resources (hosts) per request.") var resources = 4
    @Option(help: "Spans per resource.") var spansPerResource = 100
    @Option(help: "Measured pushes of the batch.") var iterations = 20_000

    func run() throws {
        let now: UInt64 = 1_700_000_000_000_000_000
        // Tempo's benchmark resource shape (9 attributes), the host named last, as `host.id`.
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = (0..<resources).map { resource in
                OTLPFixtures.resourceSpans(
                    [
                        OTLPFixtures.attribute("service.name", "service-\(resource)"),
                        OTLPFixtures.attribute("service.namespace", "shop"),
                        OTLPFixtures.attribute("service.instance.id", "instance-\(resource)"),
                        OTLPFixtures.attribute("cloud.region", "eu-west-1"),
                        OTLPFixtures.attribute("cloud.availability_zone", "eu-west-1a"),
                        OTLPFixtures.attribute("deployment.environment", "production"),
                        OTLPFixtures.attribute("k8s.cluster.name", "prod-cluster"),
                        OTLPFixtures.attribute("k8s.namespace.name", "shop"),
                        OTLPFixtures.attribute("host.id", "host-\(resource)"),
                    ],
                    (0..<spansPerResource).map {
                        OTLPFixtures.span(
                            name: "GET /api/endpoint/\($0 % 10)",
                            seed: resource * 10_000 + $0,
                            nowNanos: now
                        )
                    }
                )
            }
        }
        let batch = try SpanBatch(protobuf: request.serializedBytes())
        for processors in [[HostInfoProcessor.name], [SpanMetricsProcessor.name, HostInfoProcessor.name]] {
            var configuration = Generator.Configuration()
            configuration.processors = processors
            configuration.registry.instanceLabel = "bench"
            let generator = Generator(tenant: .singleTenant, configuration: configuration)
            let measured = Measurement.run(iterations: iterations) {
                _ = generator.push(batch, nowMs: 1_700_000_000_000)
                return batch.spanCount
            }
            measured.report("\(processors.joined(separator: " + ")), \(resources) hosts per batch")
        }
    }
}
