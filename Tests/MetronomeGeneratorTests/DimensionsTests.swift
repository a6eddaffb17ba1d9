import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §2.4 and §9.1 cases 3, 4, 21, 22, 25: custom dimensions, sanitization, collisions and mappings.
struct DimensionsTests {
    let fooBar = [OTLPFixtures.attribute("foo", "foo-value"), OTLPFixtures.attribute("bar", "bar-value")]

    private func calls(
        dimensions: [String] = [],
        mappings: [SpanMetricsProcessor.DimensionMapping] = [],
        spanKind: Bool = true,
        statusMessage: Bool = false,
        _ batch: SpanBatch
    ) -> [CollectedSeries] {
        let generator = Fixtures.generator {
            $0.spanMetrics.dimensions = dimensions
            $0.spanMetrics.dimensionMappings = mappings
            $0.spanMetrics.intrinsicDimensions.spanKind = spanKind
            $0.spanMetrics.intrinsicDimensions.statusMessage = statusMessage
        }
        _ = generator.push(batch, nowMs: Fixtures.nowMs)
        return Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
    }

    private func labels(_ series: CollectedSeries?) -> [String: String] {
        (series?.labels ?? [:]).filter { !["__name__", "__metrics_gen_instance"].contains($0.key) }
    }

    @Test func tempoDimensionsBecomeLabelsAndAbsentOnesAreLeftOut() {
        let series = calls(
            dimensions: ["foo", "bar", "does-not-exist"],
            spanKind: false,
            statusMessage: true,
            Fixtures.makeBatch(10, spanAttributes: fooBar)
        )
        #expect(series.count == 1)
        #expect(
            labels(series.first) == [
                "service": "test-service", "span_name": "test", "status_code": "STATUS_CODE_OK", "status_message": "OK",
                "foo": "foo-value", "bar": "bar-value",
            ]
        )
        #expect(series.first?.samples.last?.value == 10)
    }

    @Test func tempoDimensionNamesAreSanitizedAndAbsentValuesDropped() {
        let batch = Fixtures.makeBatch(
            10,
            spanAttributes: [
                OTLPFixtures.attribute("label-name", "a"), OTLPFixtures.attribute("foo.name", "b"),
                OTLPFixtures.attribute("foo bar", "c"), OTLPFixtures.attribute("1abc", "d"),
                OTLPFixtures.attribute("süß", "e"),
            ]
        )
        let series = calls(dimensions: ["label-name", "foo.name", "foo bar", "1abc", "süß", "valid_label_123"], batch)
        let found = labels(series.first)
        #expect(found["label_name"] == "a" && found["foo_name"] == "b" && found["foo_bar"] == "c")
        #expect(found["1abc"] == "d")
        #expect(found["s__"] == "e")
        #expect(found["valid_label_123"] == nil)
    }

    @Test func tempoCollisionsWithIntrinsicsGetADoubleUnderscore() {
        let batch = Fixtures.makeBatch(
            10,
            spanAttributes: [
                OTLPFixtures.attribute("span.kind", "colliding_kind"),
                OTLPFixtures.attribute("span_name", "colliding_name"),
            ]
        )
        let series = calls(dimensions: ["span.kind", "span_name"], spanKind: false, batch)
        let found = labels(series.first)
        #expect(found["__span_kind"] == "colliding_kind")
        #expect(found["__span_name"] == "colliding_name")
        #expect(found["span_name"] == "test")
        #expect(series.first?.samples.last?.value == 10)
    }

    @Test func resourceAttributesShadowSpanAttributes() {
        let batch = Fixtures.makeBatch(
            2,
            resourceAttributes: [OTLPFixtures.attribute("env", "from-resource")],
            spanAttributes: [OTLPFixtures.attribute("env", "from-span")]
        )
        #expect(labels(calls(dimensions: ["env"], batch).first)["env"] == "from-resource")
    }

    @Test func nonStringAttributesAreStringified() {
        let attributes = [
            OTLPFixtures.KeyValue.with {
                $0.key = "code"
                $0.value.intValue = 404
            },
            OTLPFixtures.KeyValue.with {
                $0.key = "ratio"
                $0.value.doubleValue = 0.25
            },
            OTLPFixtures.KeyValue.with {
                $0.key = "cached"
                $0.value.boolValue = true
            },
        ]
        let found = labels(
            calls(dimensions: ["code", "ratio", "cached"], Fixtures.makeBatch(1, spanAttributes: attributes)).first
        )
        #expect(found["code"] == "404" && found["ratio"] == "0.25" && found["cached"] == "true")
    }

    @Test func theLaterOfTwoDimensionsWithOneNameWinsEvenWhenEmpty() {
        let batch = Fixtures.makeBatch(1, spanAttributes: [OTLPFixtures.attribute("a.b", "first")])
        // "a.b" and "a_b" both sanitize to a_b; a_b is absent, so the label is removed (spec §2.4 QUIRK).
        #expect(labels(calls(dimensions: ["a.b", "a_b"], batch).first)["a_b"] == nil)
        #expect(labels(calls(dimensions: ["a_b", "a.b"], batch).first)["a_b"] == "first")
    }

    @Test func tempoDimensionMappingJoinsValues() {
        let series = calls(
            mappings: [.init(name: "foo.bar", sourceLabels: ["foo", "bar"], join: "/")],
            Fixtures.makeBatch(10, spanAttributes: fooBar)
        )
        #expect(labels(series.first)["foo_bar"] == "foo-value/bar-value")
        #expect(series.first?.samples.last?.value == 10)
    }

    @Test func tempoDimensionMappingSkipsMissingSources() {
        let batch = Fixtures.makeBatch(
            1,
            resourceAttributes: [OTLPFixtures.attribute("last", "last-value")],
            spanAttributes: [
                OTLPFixtures.attribute("first", "first-value"), OTLPFixtures.attribute("world", "world-value"),
            ]
        )
        let found = labels(
            calls(
                mappings: [
                    .init(name: "first_only", sourceLabels: ["first", "second"]),
                    .init(name: "world_only", sourceLabels: ["hello", "world"]),
                    .init(name: "first/last", sourceLabels: ["first", "middle", "last"], join: "->"),
                    .init(name: "none", sourceLabels: ["x", "y"], join: "+"),
                ],
                batch
            ).first
        )
        #expect(found["first_only"] == "first-value")
        #expect(found["world_only"] == "world-value")
        #expect(found["first_last"] == "first-value->last-value")
        #expect(found["none"] == nil)
    }

    @Test func tempoValidationRejectsMappingCollisions() throws {
        var configuration = SpanMetricsProcessor.Configuration()
        try configuration.validate()
        configuration.dimensions = ["deployment_environment", "deployment.environment"]
        try configuration.validate()
        configuration.dimensions = ["foo_bar"]
        configuration.dimensionMappings = [.init(name: "foo_bar", sourceLabels: ["a"])]
        #expect(
            throws: ConfigurationProblem(
                "dimension_mapping \"foo_bar\" produces label \"foo_bar\" which collides with dimension \"foo_bar\""
            )
        ) { try configuration.validate() }
        configuration.dimensions = []
        configuration.dimensionMappings = [
            .init(name: "x.y", sourceLabels: ["a"]), .init(name: "x_y", sourceLabels: ["b"]),
        ]
        #expect(throws: ConfigurationProblem.self) { try configuration.validate() }
    }

    @Test func dimensionValuesDistinguishSeries() {
        let generator = Fixtures.generator { $0.spanMetrics.dimensions = ["http.method"] }
        for method in ["GET", "POST", "GET"] {
            _ = generator.push(
                Fixtures.makeBatch(1, spanAttributes: [OTLPFixtures.attribute("http.method", method)]),
                nowMs: Fixtures.nowMs
            )
        }
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", ["http_method": "GET"]) == 2)
        #expect(sink.value("traces_spanmetrics_calls_total", ["http_method": "POST"]) == 1)
    }
}
