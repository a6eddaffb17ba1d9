import MetronomeWire
import OTLPProto
import Testing

@testable import MetronomeGenerator

/// Spec §5.7 and Tempo's `drain_sanitizer_test.go`: span-name sanitization in span metrics.
struct SpanNameSanitizationTests {
    static let calls = "traces_spanmetrics_calls_total"

    static func configuration(_ mode: SpanNameSanitization) -> Generator.Configuration {
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.registry.instanceLabel = "test-host"
        configuration.spanMetrics.histogramBuckets = [1]
        configuration.spanNameSanitization = mode
        return configuration
    }

    static func generator(_ mode: SpanNameSanitization) -> Generator {
        Generator(tenant: .singleTenant, configuration: configuration(mode))
    }

    /// One resource of `test-service` with a span per name.
    static func batch(_ names: [String]) -> SpanBatch {
        let spans = names.enumerated().map {
            OTLPFixtures.span(name: $0.element, seed: $0.offset, nowNanos: Fixtures.nowNanos)
        }
        return Fixtures.batch([
            OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "test-service")], spans)
        ])
    }

    /// Calls per span_name.
    static func calls(_ generator: Generator) -> [String: Double] {
        var calls: [String: Double] = [:]
        for series in Fixtures.collect(generator).find(Self.calls) {
            calls[series.labels["span_name"] ?? "(none)"] = series.samples.last?.value
        }
        return calls
    }

    @Test func enabledReplacesSimilarNamesAfterTheFirst() {
        let generator = Self.generator(.enabled)
        let names = [
            "GET /api/users/123", "GET /api/users/456", "GET /api/users/789",
            "POST /api/orders/100/items/1", "POST /api/orders/200/items/2",
            "SELECT * FROM users_100", "SELECT * FROM users_200",
            "grpc.client/service.Method/123", "grpc.client/service.Method/456",
        ]
        let report = generator.push(Self.batch(names), nowMs: Fixtures.nowMs)
        #expect(
            Self.calls(generator) == [
                "GET /api/users/123": 1, "GET /api/users/<_>": 2,
                "POST /api/orders/100/items/1": 1, "POST /api/orders/<_>/items/<_>": 1,
                "SELECT * FROM users_100": 1, "SELECT * FROM users_<_>": 1,
                "grpc.client/service.Method/123": 1, "grpc.client/service.Method/<_>": 1,
            ]
        )
        #expect(report.spanNames.sanitized == 5 && report.spanNames.patternsDetected == 4)
        // The first name again is sanitized now that its cluster has a wildcard.
        let again = generator.push(Self.batch(["GET /api/users/123"]), nowMs: Fixtures.nowMs)
        #expect(again.spanNames.sanitized == 1 && Self.calls(generator)["GET /api/users/<_>"] == 3)
    }

    @Test func dryRunLeavesLabelsAloneButCountsAndEstimates() {
        let generator = Self.generator(.dryRun)
        let names = (0..<50).map { "GET /api/users/\($0)" }
        let report = generator.push(Self.batch(names), nowMs: Fixtures.nowMs)
        #expect(report.spanNames.sanitized == 49)
        #expect(Self.calls(generator).count == 50)
        var sink = CapturingSink()
        let result = generator.collect(.collect, timestampMs: Fixtures.nowMs, into: &sink)
        // 50 label sets before sanitization, 2 after; each is calls, size and a 1-bucket histogram (5 series).
        #expect(result.activeSeriesDemand == 50 * 6)
        #expect(result.postSanitizationDemand == 2 * 6)
    }

    @Test func disabledLeavesNamesAloneAndReportsNothing() {
        let generator = Self.generator(.disabled)
        let report = generator.push(Self.batch(["GET /a/1", "GET /a/2"]), nowMs: Fixtures.nowMs)
        #expect(Self.calls(generator) == ["GET /a/1": 1, "GET /a/2": 1])
        #expect(report.spanNames == .init())
        var sink = CapturingSink()
        #expect(generator.collect(.collect, timestampMs: Fixtures.nowMs, into: &sink).postSanitizationDemand == nil)
    }

    @Test func namesWithTooFewTokensAndSeriesWithoutASpanNameAreLeftAlone() {
        let generator = Self.generator(.enabled)
        let report = generator.push(Self.batch(["a", "a", "", "b"]), nowMs: Fixtures.nowMs)
        #expect(Self.calls(generator) == ["a": 2, "(none)": 1, "b": 1])  // an empty value removes the label
        #expect(report.spanNames.skipped == ["too_few_tokens": 4])
        var configuration = Self.configuration(.enabled)
        configuration.spanMetrics.intrinsicDimensions.spanName = false
        let withoutName = Generator(tenant: .singleTenant, configuration: configuration)
        let pushed = withoutName.push(Self.batch(["GET /a/1", "GET /a/2"]), nowMs: Fixtures.nowMs)
        #expect(pushed.spanNames == .init() && Self.calls(withoutName) == ["(none)": 2])
    }

    @Test func theModeSwitchesAtRuntimeAndTheClustersSurviveIt() {
        let enabled = Self.generator(.enabled)
        _ = enabled.push(Self.batch(["GET /users/1", "GET /users/2"]), nowMs: Fixtures.nowMs)
        let disabled = Generator(
            tenant: .singleTenant,
            configuration: Self.configuration(.disabled),
            continuing: enabled
        )
        _ = disabled.push(Self.batch(["GET /users/3"]), nowMs: Fixtures.nowMs)
        #expect(Self.calls(disabled) == ["GET /users/1": 1, "GET /users/<_>": 1, "GET /users/3": 1])
        let dryRun = Generator(tenant: .singleTenant, configuration: Self.configuration(.dryRun), continuing: disabled)
        let report = dryRun.push(Self.batch(["GET /users/4"]), nowMs: Fixtures.nowMs)
        #expect(report.spanNames.sanitized == 1 && Self.calls(dryRun)["GET /users/4"] == 1)
        let again = Generator(tenant: .singleTenant, configuration: Self.configuration(.enabled), continuing: dryRun)
        _ = again.push(Self.batch(["GET /users/5"]), nowMs: Fixtures.nowMs)
        // The series continued through every switch; the dry-run clusters serve the enabled mode at once.
        #expect(Self.calls(again)["GET /users/<_>"] == 2)
        let sanitizer = again.processor(SpanMetricsProcessor.self)?.sanitizer
        #expect(sanitizer != nil && sanitizer === dryRun.processor(SpanMetricsProcessor.self)?.sanitizer)
    }

    @Test func aStormOfOneHundredThousandUserIdsCollapsesIntoOneSeries() {
        let generator = Self.generator(.enabled)
        var sanitized = 0
        for chunk in stride(from: 0, to: 100_000, by: 1_000) {
            let report = generator.push(
                Self.batch((chunk..<chunk + 1_000).map { "GET /users/\($0 * 7919 + 13)" }),
                nowMs: Fixtures.nowMs
            )
            sanitized += report.spanNames.sanitized
        }
        // Tempo's first-occurrence rule: the very first name keeps its own series, every later one is sanitized.
        #expect(sanitized == 99_999)
        #expect(Self.calls(generator) == ["GET /users/13": 1, "GET /users/<_>": 99_999])
        let statistics = generator.processor(SpanMetricsProcessor.self)!.sanitizer!.statistics
        #expect(statistics.clusters == 1)
        // The memo of names seen is bounded (16,384 entries), whatever the storm.
        #expect(statistics.bytes < 4 << 20)
    }

    @Test func aSanitizedSeriesContinuesAfterARestartFromTheFirstSpan() {
        let before = Self.generator(.enabled)
        let names = ["GET /users/1", "GET /users/2", "SELECT * FROM users_100", "SELECT * FROM users_200", "a/b/c"]
        _ = before.push(Self.batch(names), nowMs: Fixtures.nowMs)
        let restored = Self.generator(.enabled)
        #expect(restored.restore(Fixtures.checkpoint(before).decoded, nowMs: Fixtures.nowMs) == ["span-metrics"])
        // The restored `<_>` names are clusters again: the first new names after the restart join them.
        let report = restored.push(Self.batch(["GET /users/4", "SELECT * FROM users_300"]), nowMs: Fixtures.nowMs)
        #expect(report.spanNames.sanitized == 2 && report.spanNames.patternsDetected == 0)
        #expect(
            Self.calls(restored) == [
                "GET /users/1": 1, "GET /users/<_>": 2, "SELECT * FROM users_100": 1, "SELECT * FROM users_<_>": 2,
                "a/b/c": 1,
            ]
        )
    }

    @Test func sanitizedNamesFeedThePerLabelLimiterAndTheExemplarsStay() {
        var configuration = Self.configuration(.enabled)
        configuration.limits.maxCardinalityPerLabel = 5
        let generator = Generator(tenant: .singleTenant, configuration: configuration)
        let report = generator.push(Self.batch((0..<40).map { "GET /items/\($0)" }), nowMs: Fixtures.nowMs)
        #expect(report.spanNames.sanitized == 39)
        let sink = Fixtures.collect(generator)
        #expect(sink.find("traces_spanmetrics_latency_bucket", ["span_name": "GET /items/<_>", "le": "1"]).count == 1)
        #expect(sink.value("traces_spanmetrics_latency_count", ["span_name": "GET /items/<_>"]) == 39)
    }
}
