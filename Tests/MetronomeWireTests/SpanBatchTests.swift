import Foundation
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

struct SpanBatchTests {
    typealias AnyValue = Opentelemetry_Proto_Common_V1_AnyValue
    let now: UInt64 = 1_700_000_000_000_000_000

    private func batch(_ request: OTLPFixtures.Request) throws -> SpanBatch {
        try SpanBatch(protobuf: Array(try request.serializedData()))
    }

    private func string(_ batch: SpanBatch, _ range: ByteRange) -> String {
        batch.withBytes { String(decoding: $0[range.range], as: UTF8.self) }
    }

    private func formatted(_ batch: SpanBatch, _ attribute: AttributeRecord) -> String {
        var out: [UInt8] = []
        batch.withBytes { AttributeValueFormatter.append(attribute, bytes: $0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func indexesResourcesSpansAndAttributesAsSwiftProtobufDecodesThem() throws {
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = [
                OTLPFixtures.resourceSpans(
                    [OTLPFixtures.attribute("service.name", "cart")],
                    [
                        OTLPFixtures.span(
                            name: "GET /cart",
                            kind: .server,
                            status: .error,
                            message: "boom",
                            seed: 1,
                            nowNanos: now
                        ),
                        OTLPFixtures.span(name: "SELECT", kind: .client, seed: 2, nowNanos: now, durationNanos: 5),
                    ]
                ),
                OTLPFixtures.resourceSpans([], [OTLPFixtures.span(name: "x", kind: .consumer, seed: 3, nowNanos: now)]),
            ]
        }
        let batch = try batch(request)
        #expect(batch.resources.count == 2)
        #expect(batch.spanCount == 3)
        #expect(batch.resources[0].spans == 0..<2)
        #expect(batch.resources[1].spans == 2..<3)
        let first = batch.spans[0]
        #expect(string(batch, first.name) == "GET /cart")
        #expect(first.kind == 2)
        #expect(first.statusCode == 2)
        #expect(string(batch, first.statusMessage) == "boom")
        #expect(first.traceID.count == 16 && first.spanID.count == 8)
        #expect(first.endTimeUnixNano == now && first.startTimeUnixNano == now - 1_000_000_000)
        #expect(batch.spans[1].kind == 3 && batch.spans[2].resourceIndex == 1)
        let serviceName = batch.attributes[Int(batch.resources[0].attributes.lowerBound)]
        #expect(string(batch, serviceName.key) == "service.name")
        #expect(formatted(batch, serviceName) == "cart")
        // The encoded size of each span is what SwiftProtobuf produces for it alone.
        let sizes = request.resourceSpans.flatMap { $0.scopeSpans.flatMap(\.spans) }.map {
            try! $0.serializedData().count
        }
        #expect(batch.spans.map { Int($0.encodedSize) } == sizes)
    }

    @Test func missingResourceAndStatusMeanNoAttributesAndUnset() throws {
        var span = OTLPFixtures.span(name: "a", nowNanos: now)
        span.clearStatus()
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = [.with { $0.scopeSpans = [.with { $0.spans = [span] }] }]
        }
        let batch = try batch(request)
        #expect(batch.resources[0].attributes.isEmpty)
        #expect(batch.spans[0].statusCode == 0)
        #expect(batch.spans[0].statusMessage.isEmpty)
    }

    @Test func emptyRequestHasNoSpans() throws {
        let batch = try SpanBatch(protobuf: [])
        #expect(batch.resources.isEmpty && batch.spanCount == 0)
    }

    @Test func unknownFieldsAreSkipped() throws {
        let known = try OTLPFixtures.span(name: "known", nowNanos: now).serializedData()
        // field 99 varint, field 100 fixed32, field 101 bytes: unknown to the schema, kept by SwiftProtobuf.
        let unknown = Data([0x98, 0x06, 0x2A, 0xA5, 0x06, 1, 2, 3, 4, 0xAA, 0x06, 0x01, 0x7F])
        let span = try OTLPFixtures.Span(serializedBytes: known + unknown)
        #expect(!span.unknownFields.data.isEmpty)
        let request = OTLPFixtures.Request.with { $0.resourceSpans = [OTLPFixtures.resourceSpans([], [span])] }
        let batch = try batch(request)
        #expect(string(batch, batch.spans[0].name) == "known")
    }

    @Test func attributesOfEveryValueTypeAreStringifiedAsTempoDoes() throws {
        let values: [(String, AnyValue, String)] = [
            ("s", .with { $0.stringValue = "text" }, "text"),
            ("b", .with { $0.boolValue = false }, "false"),
            ("i", .with { $0.intValue = -42 }, "-42"),
            ("d", .with { $0.doubleValue = 1.1 }, "1.1"),
            ("d2", .with { $0.doubleValue = 0.000001 }, "0.000001"),
            ("d3", .with { $0.doubleValue = 100 }, "100"),
            (
                "arr", .with { $0.arrayValue.values = [.with { $0.stringValue = "test" }, .with { $0.intValue = 1 }] },
                "[test1]"
            ),
            (
                "kv",
                .with {
                    $0.kvlistValue.values = [
                        .with {
                            $0.key = "key"
                            $0.value.stringValue = "value"
                        }
                    ]
                }, "{key:value}"
            ),
            ("bytes", .with { $0.bytesValue = Data([1, 2]) }, ""),
            ("empty", AnyValue(), ""),
        ]
        let attributes = values.map { key, value, _ in
            OTLPFixtures.KeyValue.with {
                $0.key = key
                $0.value = value
            }
        }
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = [
                OTLPFixtures.resourceSpans([], [OTLPFixtures.span(name: "a", nowNanos: now, attributes: attributes)])
            ]
        }
        let batch = try batch(request)
        let span = batch.spans[0]
        #expect(span.attributes.count == values.count)
        for (index, expected) in zip(span.attributes, values) {
            #expect(string(batch, batch.attributes[index].key) == expected.0)
            #expect(formatted(batch, batch.attributes[index]) == expected.2)
        }
        #expect(batch.attributes[span.attributes.lowerBound + 2].type == .int)
        #expect(batch.attributes[span.attributes.lowerBound + 2].intValue == -42)
    }

    @Test func truncatedRequestsAreErrorsAtEveryLength() throws {
        let bytes = Array(
            try OTLPFixtures.tempoShaped(resources: 1, spansPerResource: 3, nowNanos: now).serializedData()
        )
        var failures = 0
        for length in 0..<bytes.count {
            if (try? SpanBatch(protobuf: Array(bytes[0..<length]))) == nil { failures += 1 }
        }
        // Every proper prefix either fails or (at a field boundary of the outer message) decodes fewer resources.
        #expect(failures > bytes.count / 2)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<200, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? SpanBatch(protobuf: bytes)
        }
    }

    @Test func wrongWireTypeOnAKnownFieldIsAnError() {
        // ResourceSpans (field 1) sent as a varint.
        #expect(throws: WireError.wrongWireType(message: "ExportTraceServiceRequest", field: 1, got: 0)) {
            try SpanBatch(protobuf: [0x08, 0x01])
        }
    }

    @Test func removeSpansKeepsResourceRangesConsistent() throws {
        var batch = try batch(OTLPFixtures.tempoShaped(resources: 3, spansPerResource: 4, names: 4, nowNanos: now))
        let original = batch
        let removed = batch.removeSpans { span in original.withBytes { $0[span.name.range].last == UInt8(ascii: "1") } }
        #expect(removed == 3)
        #expect(batch.spanCount == 9)
        #expect(batch.resources.map(\.spans) == [0..<3, 3..<6, 6..<9])
        for span in batch.spans { #expect(!string(batch, span.name).hasSuffix("1")) }
    }
}
