import ArgumentParser
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

    func run() throws {
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
        let generator = Generator(tenant: .singleTenant, configuration: configuration)
        Measurement.run(iterations: iterations) {
            _ = generator.push(batch, nowMs: 1_700_000_000_000)
            return batch.spanCount
        }.report("span-metrics, \(resources * names) label sets")

        // Steady state at `series` label sets: fill, then push batches that hit existing series spread over the table.
        let perBatch = 1000
        let fill = (0..<(series / perBatch)).map { chunk in
            try! SpanBatch(
                protobuf: OTLPFixtures.Request.with {
                    $0.resourceSpans = [
                        OTLPFixtures.resourceSpans(
                            [OTLPFixtures.attribute("service.name", "service-\(chunk % 50)")],
                            (0..<perBatch).map {
                                OTLPFixtures.span(name: "GET /api/v1/items/\(chunk)/\($0)", seed: $0, nowNanos: now)
                            }
                        )
                    ]
                }.serializedBytes()
            )
        }
        let large = Generator(tenant: .singleTenant, configuration: configuration)
        for batch in fill { _ = large.push(batch, nowMs: 1_700_000_000_000) }
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
            "memory: \(bytes) bytes for \(fill.count * perBatch) label sets = \(collected.activeSeries) Prometheus series;"
                + " \(bytes / max(1, fill.count * perBatch)) bytes per label set,"
                + " \(bytes / max(1, collected.activeSeries)) bytes per series"
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
}
