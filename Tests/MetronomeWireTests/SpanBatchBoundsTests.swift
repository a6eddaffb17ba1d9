import Foundation
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

/// The decoder's bounds against hostile shapes: nesting depth, id-less spans, and the index's memory per body byte.
struct SpanBatchBoundsTests {
    typealias AnyValue = Opentelemetry_Proto_Common_V1_AnyValue
    let now: UInt64 = 1_700_000_000_000_000_000

    /// An `AnyValue` nested `levels` deep as arrays (or key-value lists) around a string, encoded by hand (SwiftProtobuf
    /// refuses to encode past its own recursion limit). Built back to front, so 100,000 levels take linear time.
    private func nestedValue(levels: Int, keyValueLists: Bool = false) -> [UInt8] {
        var reversed: [UInt8] = [UInt8(ascii: "x"), 0x01, 0x0A]  // AnyValue { string_value: "x" }, back to front
        func prepend(field: UInt8) {
            var length = ProtobufWriter()
            length.writeVarint(UInt64(reversed.count))
            reversed.append(contentsOf: length.bytes.reversed())
            reversed.append(field << 3 | 2)
        }
        for _ in 1..<levels {
            if keyValueLists {
                prepend(field: 2)  // KeyValue.value
                reversed.append(contentsOf: [UInt8(ascii: "k"), 0x01, 0x0A])  // KeyValue.key = "k", back to front
                prepend(field: 1)  // KeyValueList.values
                prepend(field: 6)  // AnyValue.kvlist_value
            } else {
                prepend(field: 1)  // ArrayValue.values
                prepend(field: 5)  // AnyValue.array_value
            }
        }
        return reversed.reversed()
    }

    /// A request with one span whose attribute `key` (or resource attribute, with `onResource`) has `value`.
    private func request(key: String, value: [UInt8], onResource: Bool = false) throws -> [UInt8] {
        var attribute = ProtobufWriter()
        attribute.writeStringField(1, key)
        attribute.writeBytesField(2, value)
        var span = try OTLPFixtures.span(name: "deep", nowNanos: now).serializedBytes() as [UInt8]
        var resource = ProtobufWriter()
        if onResource {
            resource.writeBytesField(1, attribute.bytes)
        } else {
            var field = ProtobufWriter()
            field.writeBytesField(9, attribute.bytes)
            span += field.bytes
        }
        var scope = ProtobufWriter()
        scope.writeBytesField(2, span)
        var resourceSpans = ProtobufWriter()
        resourceSpans.writeBytesField(1, resource.bytes)
        resourceSpans.writeBytesField(2, scope.bytes)
        var request = ProtobufWriter()
        request.writeBytesField(1, resourceSpans.bytes)
        return request.bytes
    }

    @Test(arguments: [false, true])
    func valuesNestedPastTheLimitAreRefusedNamingSpanAndKey(keyValueLists: Bool) throws {
        let bytes = try request(key: "deep\nkey", value: nestedValue(levels: 100_000, keyValueLists: keyValueLists))
        #expect(throws: WireError.valueTooDeep(limit: 64, location: "span 0 attribute 'deep\\nkey'")) {
            try SpanBatch(protobuf: bytes)
        }
        let resource = try request(key: "service.name", value: nestedValue(levels: 65), onResource: true)
        #expect(throws: WireError.valueTooDeep(limit: 64, location: "resource 0 attribute 'service.name'")) {
            try SpanBatch(protobuf: resource)
        }
    }

    @Test func valuesAtTheLimitAreFormattedWithoutRecursion() throws {
        let batch = try SpanBatch(protobuf: request(key: "deep", value: nestedValue(levels: 64)))
        let attribute = batch.attributes[batch.spans[0].attributes.lowerBound]
        var out: [UInt8] = []
        batch.withBytes { AttributeValueFormatter.append(attribute, bytes: $0, to: &out) }
        #expect(
            String(decoding: out, as: UTF8.self) == String(repeating: "[", count: 63) + "x"
                + String(repeating: "]", count: 63)
        )
        let lists = try SpanBatch(protobuf: request(key: "deep", value: nestedValue(levels: 3, keyValueLists: true)))
        out = []
        lists.withBytes { AttributeValueFormatter.append(lists.attributes[0], bytes: $0, to: &out) }
        #expect(String(decoding: out, as: UTF8.self) == "{k:{k:x}}")
        #expect(throws: WireError.self) {
            try SpanBatch(
                protobuf: request(key: "deep", value: nestedValue(levels: 4)),
                limits: .init(maxValueDepth: 3)
            )
        }
    }

    @Test func malformedNestedValuesAreRefusedWhenDecoded() throws {
        // arrayValue { values: <length 5 with 2 bytes left> }
        let bytes = try request(key: "bad", value: [0x2A, 0x02, 0x0A, 0x05])
        #expect(throws: WireError.self) { try SpanBatch(protobuf: bytes) }
    }

    /// A request of one ResourceSpans whose one ScopeSpans holds `count` copies of `span` (a tagged `spans` field).
    private func repeated(_ span: [UInt8], count: Int) -> [UInt8] {
        var resourceSpans = ProtobufWriter()
        resourceSpans.writeBytesField(2, Array([[UInt8]](repeating: span, count: count).joined()))
        var request = ProtobufWriter()
        request.writeBytesField(1, resourceSpans.bytes)
        return request.bytes
    }

    @Test func emptySpansAreRefusedAtTheFirstOne() {
        // 1 MiB of `12 00`: half a million empty spans. Refused at span 0, before anything else is indexed.
        let bytes = repeated([0x12, 0x00], count: 512 * 1024)
        #expect(throws: WireError.invalidSpan(index: 0, reason: "has a 0-byte trace id; a trace id must be 16 bytes")) {
            try SpanBatch(protobuf: bytes)
        }
    }

    /// The resident size of the batch's index: its records, not the body it keeps.
    private func indexBytes(_ batch: SpanBatch) -> Int {
        batch.spans.count * MemoryLayout<SpanRecord>.stride + batch.attributes.count
            * MemoryLayout<AttributeRecord>.stride
            + batch.resources.count * MemoryLayout<ResourceRecord>.stride
    }

    @Test func theIndexCostsAtMostSixAndAHalfBytesPerBodyByte() throws {
        let span = try OTLPFixtures.span(name: "", nowNanos: now).serializedBytes() as [UInt8]
        var minimalSpan = ProtobufWriter()
        minimalSpan.writeBytesField(1, Array(span[2..<18]))  // a 16-byte trace id
        minimalSpan.writeBytesField(2, [1, 2, 3, 4, 5, 6, 7, 8])
        var oneSpan = ProtobufWriter()
        oneSpan.writeBytesField(2, minimalSpan.bytes)

        // Minimal valid spans; 5-byte resource attributes beside one span; empty-key attributes; span-less resources.
        let spans = repeated(Array(oneSpan.bytes), count: 20_000)
        // A Resource is its repeated attributes (field 1): `0a 03 {0a 01 61}` is one attribute with key "a".
        let resource = Array(repeating: [0x0A, 0x03, 0x0A, 0x01, 0x61] as [UInt8], count: 20_000).flatMap { $0 }
        var attributed = ProtobufWriter()
        attributed.writeBytesField(1, resource)
        attributed.writeBytesField(2, oneSpan.bytes)  // ScopeSpans { one span }
        var attributesRequest = ProtobufWriter()
        attributesRequest.writeBytesField(1, attributed.bytes)
        let emptyKeys = Array(repeating: [0x0A, 0x00] as [UInt8], count: 50_000).flatMap { $0 }
        var emptyKeyed = ProtobufWriter()
        emptyKeyed.writeBytesField(1, emptyKeys)
        emptyKeyed.writeBytesField(2, oneSpan.bytes)
        var emptyKeysRequest = ProtobufWriter()
        emptyKeysRequest.writeBytesField(1, emptyKeyed.bytes)
        let spanlessResources: [UInt8] = Array(repeating: [0x0A, 0x02, 0x0A, 0x00], count: 50_000).flatMap { $0 }

        for (shape, bytes) in [
            ("spans", spans), ("attributes", attributesRequest.bytes), ("empty keys", emptyKeysRequest.bytes),
            ("span-less resources", spanlessResources),
        ] {
            let batch = try SpanBatch(protobuf: bytes)
            let perByte = Double(indexBytes(batch)) / Double(bytes.count)
            #expect(perByte <= 6.5, "\(shape): \(perByte) index bytes per body byte")
        }
    }
}
