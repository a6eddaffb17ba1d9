import MetronomeWire
import Testing

@testable import MetronomeGenerator

/// A tenant's generator replaced after a change of its settings (issue 10): series whose identity is unchanged keep
/// their cumulative values; the others, and those of a removed processor, end with one staleness marker.
struct ReconfigureTests {
    static let calls = "traces_spanmetrics_calls_total"
    static let testService = ["service": "test-service"]
    static let edges = "traces_service_graph_request_total"

    static func configuration(_ configure: (inout Generator.Configuration) -> Void = { _ in })
        -> Generator.Configuration
    {
        var configuration = Generator.Configuration()
        configuration.registry.instanceLabel = "test-host"
        configuration.spanMetrics.histogramBuckets = [0.5, 1]
        configure(&configuration)
        return configuration
    }

    /// A generator with both processors that has counted 3 spans and one edge and been collected once.
    static func running() -> Generator {
        let generator = Generator(tenant: .singleTenant, configuration: configuration())
        _ = generator.push(Fixtures.makeBatch(3), nowMs: Fixtures.nowMs)
        let edge = TraceBuilder.batch([
            ("svc-a", [TraceBuilder.Span(id: 1, kind: .client)]),
            ("svc-b", [TraceBuilder.Span(id: 2, parent: 1, kind: .server)]),
        ])
        _ = generator.push(edge, nowMs: Fixtures.nowMs)
        _ = Fixtures.collect(generator)
        return generator
    }

    static func reconfigured(_ previous: Generator, _ configure: (inout Generator.Configuration) -> Void)
        -> Generator
    {
        Generator(tenant: .singleTenant, configuration: configuration(configure), continuing: previous)
    }

    @Test func settingsThatLeaveSeriesIdentityAloneResetNothing() throws {
        let previous = Self.running()
        let next = Self.reconfigured(previous) {
            $0.spanMetrics.filterPolicies = [
                try! FilterPolicy(exclude: PolicyMatch(matchType: .strict, attributes: [("name", .string("x"))]))
            ]
            $0.spanMetrics.spanMultiplierKey = "ratio"
            $0.limits.maxActiveSeries = 1000
            $0.registry.collectionIntervalMs = 5_000
            $0.ingestionTimeRangeSlackMs = 60_000
            $0.serviceGraphs.spanMultiplierKey = "ratio"
        }
        #expect(next.continuation.kept == [SpanMetricsProcessor.name, ServiceGraphsProcessor.name])
        #expect(!next.continuation.changesSeries)
        #expect(next.limiter === previous.limiter && next.limiter.maximum == 1000)
        _ = next.push(Fixtures.makeBatch(2), nowMs: Fixtures.nowMs + 1_000)
        let sink = Fixtures.collect(next, at: Fixtures.nowMs + 2_000)
        #expect(sink.value(Self.calls, Self.testService) == 5)
        #expect(sink.value(Self.edges) == 1)
        #expect(sink.series.allSatisfy { !$0.samples.contains(where: \.isStaleMarker) })
    }

    @Test func changedLabelsRestartOnlyThatProcessorAndEndItsOldSeries() {
        let previous = Self.running()
        let next = Self.reconfigured(previous) { $0.spanMetrics.dimensions = ["http.method"] }
        #expect(next.continuation.restarted == [SpanMetricsProcessor.name])
        #expect(next.continuation.kept == [ServiceGraphsProcessor.name])
        _ = next.push(Fixtures.makeBatch(2), nowMs: Fixtures.nowMs + 1_000)
        let sink = Fixtures.collect(next, at: Fixtures.nowMs + 2_000)
        let calls = sink.find(Self.calls, Self.testService)
        // The old label set ends with a marker; the new one starts from zero.
        #expect(calls.filter { $0.samples.contains(where: \.isStaleMarker) }.map(\.samples.count) == [1])
        #expect(calls.filter { !$0.samples.contains(where: \.isStaleMarker) }.map { $0.samples.last?.value } == [2])
        #expect(sink.value(Self.edges) == 1)
        // Ended once: the next collection has only the new series.
        let after = Fixtures.collect(next, at: Fixtures.nowMs + 3_000)
        #expect(after.find(Self.calls, Self.testService).count == 1)
    }

    @Test func changedBucketsRestartTheProcessor() {
        let next = Self.reconfigured(Self.running()) { $0.spanMetrics.histogramBuckets = [0.25, 0.5, 1] }
        #expect(next.continuation.restarted == [SpanMetricsProcessor.name])
    }

    @Test func aRemovedProcessorEndsEachOfItsSeriesWithOneMarker() {
        let previous = Self.running()
        let next = Self.reconfigured(previous) { $0.processors = [SpanMetricsProcessor.name] }
        #expect(next.continuation.removed == [ServiceGraphsProcessor.name])
        #expect(next.processor(ServiceGraphsProcessor.self) == nil)
        let sink = Fixtures.collect(next, at: Fixtures.nowMs + 2_000)
        let ended = sink.series.filter { $0.labels["__name__"]?.hasPrefix("traces_service_graph") == true }
        #expect(!ended.isEmpty)
        #expect(ended.allSatisfy { $0.samples.count == 1 && $0.samples[0].isStaleMarker })
        #expect(sink.value(Self.calls, Self.testService) == 3)
        let after = Fixtures.collect(next, at: Fixtures.nowMs + 3_000)
        #expect(after.series.allSatisfy { $0.labels["__name__"]?.hasPrefix("traces_service_graph") == false })
        // Their room in the limiter is given back: 3 span-metrics label sets of 7 series are left.
        #expect(next.limiter.statistics.active == 21)
    }

    @Test func aNewTraceIDLabelAppliesToTheSameSeries() {
        let previous = Self.running()
        let next = Self.reconfigured(previous) { $0.registry.traceIDLabelName = "trace_id" }
        #expect(!next.continuation.changesSeries)
        _ = next.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs + 1_000)
        let sink = Fixtures.collect(next, at: Fixtures.nowMs + 2_000)
        #expect(sink.series.compactMap(\.exemplar?.label).allSatisfy { $0 == "trace_id" })
        #expect(!sink.series.compactMap(\.exemplar).isEmpty)
    }

    @Test func aGeneratorWithNothingLeftIsIdle() {
        let generator = Generator(
            tenant: .singleTenant,
            configuration: Self.configuration { $0.processors = [SpanMetricsProcessor.name] }
        )
        #expect(generator.isIdle)
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        #expect(!generator.isIdle)
        _ = Fixtures.collect(generator)
        // Stale after stale_duration: the removal run ends the series, then nothing is left.
        _ = Fixtures.collect(generator, at: Fixtures.nowMs + 16 * 60_000)
        #expect(generator.isIdle)
    }
}
