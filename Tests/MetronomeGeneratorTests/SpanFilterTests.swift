import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §2.8, §9.1 case 6 and §9.4's spanfilter cases.
struct SpanFilterTests {
    typealias Value = PolicyMatch.Value

    private func match(_ conditions: [(String, Value)], type: PolicyMatch.MatchType = .strict) -> PolicyMatch {
        try! PolicyMatch(matchType: type, attributes: conditions.map { (key: $0.0, value: $0.1) })
    }

    /// The number of MakeBatch(10)-style spans (plus `foo`/`bar` span attributes) counted under `policies`.
    private func counted(_ policies: [FilterPolicy], spanAttributes: [OTLPFixtures.KeyValue]? = nil) -> (Double, Int) {
        let generator = Fixtures.generator { $0.spanMetrics.filterPolicies = policies }
        let attributes =
            spanAttributes ?? [OTLPFixtures.attribute("foo", "foo-value"), OTLPFixtures.attribute("bar", "bar-value")]
        let result = generator.push(Fixtures.makeBatch(10, spanAttributes: attributes), nowMs: Fixtures.nowMs)
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total").reduce(0) {
            $0 + ($1.samples.last?.value ?? 0)
        }
        return (calls, result.spanMetricsFiltered)
    }

    @Test func tempoApplyFilterPolicy() throws {
        #expect(counted([try FilterPolicy(include: match([("span.foo", .string("foo-value"))]))]) == (10, 0))
        #expect(counted([try FilterPolicy(include: match([("span.nope", .string("nothere"))]))]) == (0, 10))
        #expect(counted([try FilterPolicy(exclude: match([("status", .string("STATUS_CODE_OK"))]))]) == (0, 10))
        #expect(
            counted([try FilterPolicy(include: match([("kind", .string("SPAN_KIND_.*"))], type: .regex))]) == (10, 0)
        )
    }

    @Test func noPoliciesIncludeEverything() {
        #expect(counted([]) == (10, 0))
        #expect(!SpanFilter([]).isEnabled)
    }

    @Test func anEmptyPolicyIsAnError() {
        #expect(throws: FilterPolicy.Error.self) { try FilterPolicy() }
    }

    @Test func includesMustAllMatch() throws {
        let both = [
            try FilterPolicy(include: match([("span.foo", .string("foo-value"))])),
            try FilterPolicy(include: match([("span.bar", .string("bar-value"))])),
        ]
        #expect(counted(both).0 == 10)
        let oneFails = [
            try FilterPolicy(include: match([("span.foo", .string("foo-value"))])),
            try FilterPolicy(include: match([("span.bar", .string("other"))])),
        ]
        #expect(counted(oneFails).0 == 0)
        // Within one match, every condition must hold.
        #expect(
            counted([try FilterPolicy(include: match([("span.foo", .string("foo-value")), ("name", .string("x"))]))]).0
                == 0
        )
    }

    @Test func includeAnyIsAnOrAndExcludeBeatsIt() throws {
        let anyOf = [
            try FilterPolicy(includeAny: match([("span.foo", .string("no"))])),
            try FilterPolicy(includeAny: match([("name", .string("test"))])),
        ]
        #expect(counted(anyOf).0 == 10)
        #expect(counted([try FilterPolicy(includeAny: match([("name", .string("other"))]))]).0 == 0)
        let excluded = anyOf + [try FilterPolicy(exclude: match([("kind", .string("SPAN_KIND_CLIENT"))]))]
        #expect(counted(excluded).0 == 0)
        // include_any that fails but an include that matches: included.
        let mixed = [
            try FilterPolicy(includeAny: match([("name", .string("other"))])),
            try FilterPolicy(include: match([("kind", .string("SPAN_KIND_CLIENT"))])),
        ]
        #expect(counted(mixed).0 == 10)
    }

    @Test func strictComparisonIsTyped() throws {
        let attributes: [OTLPFixtures.KeyValue] = [
            .with {
                $0.key = "code"
                $0.value.intValue = 200
            },
            .with {
                $0.key = "ratio"
                $0.value.doubleValue = 0.5
            },
            .with {
                $0.key = "ok"
                $0.value.boolValue = true
            },
            OTLPFixtures.attribute("text", "200"),
        ]
        func passes(_ key: String, _ value: Value) -> Bool {
            counted([try! FilterPolicy(include: match([(key, value)]))], spanAttributes: attributes).0 == 10
        }
        #expect(passes("span.code", .int(200)))
        #expect(!passes("span.code", .string("200")))
        #expect(!passes("span.code", .double(200)))
        #expect(passes("span.ratio", .double(0.5)))
        #expect(passes("span.ok", .bool(true)))
        #expect(passes("span.text", .string("200")))
        #expect(!passes("span.text", .int(200)))
        // A type mismatch compares against the zero value (Tempo's behaviour).
        #expect(passes("span.text", .int(0)))
        #expect(passes("span.code", .string("")))
        #expect(passes("resource.service.name", .string("test-service")))
        #expect(passes("resource.\"service.name\"", .string("test-service")))
        #expect(!passes("span.service.name", .string("test-service")))
    }

    @Test func regexIsAnUnanchoredSearchOnStrings() {
        func passes(_ key: String, _ pattern: String) -> Bool {
            counted([try! FilterPolicy(include: match([(key, .string(pattern))], type: .regex))]).0 == 10
        }
        #expect(passes("span.foo", "oo-v"))
        #expect(passes("span.foo", "^foo-value$"))
        #expect(!passes("span.foo", "^oo"))
        #expect(passes("name", "t.st"))
        #expect(passes("status", "OK$"))
        #expect(!passes("status", "ERROR"))
    }

    @Test func invalidPoliciesAreConfigurationErrors() {
        for key in ["event.name", "link.x", "instrumentation.name", ".attr", "duration", "span.", "foo"] {
            #expect(throws: FilterPolicy.Error.self, "\(key)") {
                try PolicyMatch(matchType: .strict, attributes: [(key, .string("x"))])
            }
        }
        #expect(throws: FilterPolicy.Error.self) {
            try PolicyMatch(matchType: .regex, attributes: [("name", .string("(unclosed"))])
        }
        #expect(throws: FilterPolicy.Error.self) {
            try PolicyMatch(matchType: .strict, attributes: [("status", .string("OK"))])
        }
        #expect(throws: FilterPolicy.Error.self) {
            try PolicyMatch(matchType: .strict, attributes: [("kind", .string("SERVER"))])
        }
        #expect(throws: FilterPolicy.Error.self) { try PolicyMatch(matchType: .regex, attributes: [("name", .int(1))]) }
    }
}
