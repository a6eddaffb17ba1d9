import ArgumentParser
import Foundation
import MetronomeGenerator
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Processor-only cost of span metrics on pre-decoded batches, and the memory of the series it keeps.
struct SpanMetricsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "span-metrics",
        abstract: "ns/span for the span-metrics processor (Tempo's spanmetrics_default shape), bytes per series."
    )

    @Option(help: "Resources per request.") var resources = 4
    @Option(help: "Spans per resource.") var spansPerResource = 100
    @Option(help: "Distinct span names per resource.") var names = 10
    @Option(help: "Measured pushes of the batch.") var iterations = 5000
    @Option(help: "Label sets to create first, for the steady-state and bytes-per-series figures.") var series = 100_000
    @Option(
        help: "Processor configuration: default, dimensions, or prod (7 dimensions, target_info, filters, buckets)."
    )
    var profile = Profile.default
    @Option(help: "generate_native_histograms: classic, native or both (spec §5.4).")
    var histograms = NativeHistogramSettings.Mode.classic
    @Option(
        help:
            "Distinct latencies per label set in the steady-state fill, each in its own native bucket (1 ms × 1.25^i)."
    )
    var latencies = 1
    @Flag(help: "Span names with ids, with span_name_sanitization off, dry_run and enabled (spec §5.7).")
    var sanitize = false

    /// Configurations shaped like Tempo's benchmarks of the same names.
    enum Profile: String, ExpressibleByArgument {
        /// `spanmetrics_default`: intrinsic labels only.
        case `default`
        /// `spanmetrics_dimensions`: plus two span-attribute dimensions.
        case dimensions
        /// `spanmetrics_prod_7dims_target_info_filters`.
        case prod

        func apply(to configuration: inout Generator.Configuration) throws {
            switch self {
            case .default: break
            case .dimensions:
                configuration.spanMetrics.dimensions = ["http.method", "http.route"]
            case .prod:
                configuration.spanMetrics.dimensions = [
                    "cloud.availability_zone", "cloud.region", "deployment.environment", "k8s.cluster.name",
                    "k8s.namespace.name", "service.namespace", "service.version",
                ]
                configuration.spanMetrics.enableTargetInfo = true
                configuration.spanMetrics.targetInfoExcludedDimensions = [
                    "cloud.availability_zone", "cloud.region", "deployment.environment", "k8s.cluster.name",
                    "k8s.namespace.name", "service.version", "host.name", "os.type", "process.pid",
                ]
                configuration.spanMetrics.histogramBuckets = [
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60,
                ]
                configuration.spanMetrics.filterPolicies = [
                    try FilterPolicy(
                        include: PolicyMatch(matchType: .strict, attributes: [("kind", .string("SPAN_KIND_SERVER"))])
                    ),
                    try FilterPolicy(
                        include: PolicyMatch(
                            matchType: .strict,
                            attributes: [("resource.deployment.environment", .string("production"))]
                        )
                    ),
                    try FilterPolicy(
                        exclude: PolicyMatch(matchType: .regex, attributes: [("name", .string("^health"))])
                    ),
                    try FilterPolicy(
                        exclude: PolicyMatch(matchType: .strict, attributes: [("span.http.method", .string("OPTIONS"))])
                    ),
                ]
            }
        }
    }

    func run() throws {
        if sanitize {
            return try SanitizeBenchmark.run(
                resources: resources,
                spansPerResource: spansPerResource,
                iterations: iterations
            )
        }
        let now: UInt64 = 1_700_000_000_000_000_000
        let batch = try SpanBatch(
            protobuf: OTLPFixtures.tempoShaped(
                resources: resources,
                spansPerResource: spansPerResource,
                names: names,
                nowNanos: now
            ).serializedBytes()
        )
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.registry.instanceLabel = "bench"
        try profile.apply(to: &configuration)
        configuration.nativeHistograms.mode = histograms
        let generator = Generator(tenant: .singleTenant, configuration: configuration)
        Measurement.run(iterations: iterations) {
            _ = generator.push(batch, nowMs: 1_700_000_000_000)
            return batch.spanCount
        }.report("span-metrics (\(profile.rawValue), \(histograms.rawValue)), \(resources * names) label sets")

        // Steady state at `series` label sets (intrinsic labels; every span a known series): fill, then push batches
        // that hit existing series spread over the table.
        guard series > 0 else { return }
        let perBatch = 1000
        let fill = (0..<(series / perBatch)).map { chunk in fillBatch(chunk, perBatch: perBatch, now: now, latency: 0) }
        let large = Generator(tenant: .singleTenant, configuration: configuration)
        for batch in fill { _ = large.push(batch, nowMs: 1_700_000_000_000) }
        for latency in 1..<max(1, latencies) {
            for chunk in fill.indices {
                let batch = fillBatch(chunk, perBatch: perBatch, now: now, latency: latency)
                _ = large.push(batch, nowMs: 1_700_000_000_000)
            }
        }
        var index = 0
        Measurement.run(iterations: fill.count * 5) {
            let batch = fill[index % fill.count]
            index += 1
            _ = large.push(batch, nowMs: 1_700_000_000_000)
            return batch.spanCount
        }.report("span-metrics, steady state at \(fill.count * perBatch) label sets")
        var sink = CountingSink()
        let collected = large.collect(.snapshot, timestampMs: 0, into: &sink)
        let bytes = large.memoryBytes
        print(
            "memory: \(bytes) bytes for \(fill.count * perBatch) label sets = \(collected.activeSeries) Prometheus series"
                + " (\(max(1, latencies)) latencies each); \(bytes / max(1, fill.count * perBatch)) bytes per label set,"
                + " \(bytes / max(1, collected.activeSeries)) bytes per series"
        )
    }

    /// One batch of the steady-state fill: `perBatch` label sets of their own, every span lasting `1 ms × 1.25^latency`
    /// (1 s for latency 0, the figures' historical shape).
    private func fillBatch(_ chunk: Int, perBatch: Int, now: UInt64, latency: Int) -> SpanBatch {
        let duration: UInt64 = latency == 0 ? 1_000_000_000 : UInt64(1_000_000 * pow(1.25, Double(latency)))
        return try! SpanBatch(
            protobuf: OTLPFixtures.Request.with {
                $0.resourceSpans = [
                    OTLPFixtures.resourceSpans(
                        [
                            OTLPFixtures.attribute("service.name", "service-\(chunk % 50)"),
                            OTLPFixtures.attribute("deployment.environment", "production"),
                        ],
                        (0..<perBatch).map {
                            OTLPFixtures.span(
                                name: "GET /api/v1/items/\(chunk)/\($0)",
                                seed: $0,
                                nowNanos: now,
                                durationNanos: duration
                            )
                        }
                    )
                ]
            }.serializedBytes()
        )
    }
}

/// Counts what a collection emits.
struct CountingSink: SampleSink {
    var series = 0

    mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    ) {
        series += 1
    }

    mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {
        series += 1
    }
}

extension NativeHistogramSettings.Mode: ExpressibleByArgument {}
