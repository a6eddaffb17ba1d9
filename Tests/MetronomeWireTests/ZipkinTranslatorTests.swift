import Foundation
import MetronomeFuzz
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

/// The Zipkin v2 JSON translation, checked by decoding its OTLP output with SwiftProtobuf.
struct ZipkinTranslatorTests {
    private static func translate(_ json: String) throws -> OTLPFixtures.Request {
        let bytes = Array(json.utf8)
        let output = try bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromJSON: $0) }
        return try OTLPFixtures.Request(serializedBytes: output.bytes)
    }

    private static func error(_ json: String) -> String? {
        let bytes = Array(json.utf8)
        do {
            _ = try bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromJSON: $0) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private static func attributes(_ span: OTLPFixtures.Span) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: span.attributes.map { attribute in
                let value = attribute.value
                return (attribute.key, value.stringValue.isEmpty ? "\(value.intValue)" : value.stringValue)
            }
        )
    }

    @Test func aClientSpanMapsEveryField() throws {
        let request = try Self.translate(
            """
            [{"traceId": "5af7183fb1d4cf5f", "id": "352bff9a74ca9ad2", "parentId": "6b221d5bc9e6496c",
              "name": "get /api", "kind": "CLIENT", "timestamp": 1556604172355737, "duration": 1431,
              "localEndpoint": {"serviceName": "frontend", "ipv4": "192.168.99.1", "port": 3306},
              "remoteEndpoint": {"serviceName": "backend", "ipv6": "::1", "port": 9000},
              "tags": {"http.method": "GET", "otel.status_code": "ERROR", "otel.status_description": "boom",
                       "w3c.tracestate": "rojo=00f067aa0ba902b7", "retries": 3, "cached": false},
              "annotations": [{"timestamp": 1556604172355800, "value": "wire send"}], "shared": false}]
            """
        )
        #expect(request.resourceSpans.count == 1)
        let resource = request.resourceSpans[0]
        #expect(resource.resource.attributes.map(\.key) == ["service.name"])
        #expect(resource.resource.attributes[0].value.stringValue == "frontend")
        let span = resource.scopeSpans[0].spans[0]
        // A 64-bit trace id widened with zeros first.
        #expect(span.traceID == Data([0, 0, 0, 0, 0, 0, 0, 0, 0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f]))
        #expect(span.spanID == Data([0x35, 0x2b, 0xff, 0x9a, 0x74, 0xca, 0x9a, 0xd2]))
        #expect(span.parentSpanID == Data([0x6b, 0x22, 0x1d, 0x5b, 0xc9, 0xe6, 0x49, 0x6c]))
        #expect(span.name == "get /api" && span.kind == .client)
        #expect(span.startTimeUnixNano == 1_556_604_172_355_737_000)
        #expect(span.endTimeUnixNano == 1_556_604_172_355_737_000 + 1_431_000)
        #expect(span.traceState == "rojo=00f067aa0ba902b7")
        #expect(span.status.code == .error && span.status.message == "boom")
        #expect(
            Self.attributes(span) == [
                "http.method": "GET", "retries": "3", "cached": "false", "peer.service": "backend",
                "network.peer.address": "::1", "network.peer.port": "9000",
                "network.local.address": "192.168.99.1", "network.local.port": "3306",
            ]
        )
        #expect(span.events.map(\.name) == ["wire send"])
        #expect(span.events[0].timeUnixNano == 1_556_604_172_355_800_000)
    }

    @Test func kindsAndStatusFollowTheSpecificationsValues() throws {
        func span(_ fields: String) throws -> OTLPFixtures.Span {
            try Self.translate(#"[{"traceId": "1", "id": "2", \#(fields)}]"#).resourceSpans[0].scopeSpans[0].spans[0]
        }
        #expect(try span(#""kind": "SERVER""#).kind == .server)
        #expect(try span(#""kind": "PRODUCER""#).kind == .producer)
        #expect(try span(#""kind": "CONSUMER""#).kind == .consumer)
        #expect(try span("\"name\": \"x\"").kind == .unspecified)
        #expect(try span(#""tags": {"span.kind": "internal"}"#).kind == .internal)
        // OK is the specification's value: not turned into UNSET (the Collector's bug).
        #expect(try span(#""tags": {"otel.status_code": "OK"}"#).status.code == .ok)
        #expect(try span(#""tags": {"otel.status_code": "STATUS_CODE_OK"}"#).status.code == .ok)
        let failed = try span(#""tags": {"error": "true"}"#)
        #expect(failed.status.code == .error && failed.status.message.isEmpty && failed.attributes.isEmpty)
        #expect(try span(#""tags": {"error": "timeout"}"#).status.message == "timeout")
        // A parent id equal to the span's own (a shared span's) is dropped.
        #expect(try span(#""parentId": "2""#).parentSpanID.isEmpty)
        #expect(try span("\"name\": \"x\"").status == .init())
    }

    @Test func everySpanCarriesAStatusFieldSoItsSizeMatchesTempos() throws {
        let bytes = Array(#"[{"traceId": "1", "id": "2"}]"#.utf8)
        let output = try bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromJSON: $0) }
        let batch = try SpanBatch(protobuf: output.bytes)
        var span = try OTLPFixtures.Request(serializedBytes: output.bytes).resourceSpans[0].scopeSpans[0].spans[0]
        #expect(span.hasStatus)
        #expect(batch.spans[0].encodedSize == (try span.serializedBytes() as [UInt8]).count)
        // The same span sent without a status is 2 bytes (tag and length) smaller.
        span.clearStatus()
        #expect(batch.spans[0].encodedSize == (try span.serializedBytes() as [UInt8]).count + 2)
    }

    @Test func aReadSpanIsASmallValueSoTinySpansCannotBlowMemory() {
        // The smallest JSON span is ~24 bytes and the smallest protobuf one 8: what a read span holds until it is
        // written stays a small multiple of that, with nothing on the heap but tags and annotations.
        #expect(MemoryLayout<ZipkinSpan>.stride <= 128)
    }

    @Test func spansAreGroupedByServiceInOrderOfFirstAppearance() throws {
        let request = try Self.translate(
            """
            [{"traceId": "1", "id": "1", "localEndpoint": {"serviceName": "b"}},
             {"traceId": "1", "id": "2", "localEndpoint": {"serviceName": "a"}},
             {"traceId": "1", "id": "3", "localEndpoint": {"serviceName": "b"}},
             {"traceId": "1", "id": "4"}]
            """
        )
        #expect(request.resourceSpans.map { $0.resource.attributes.first?.value.stringValue } == ["b", "a", nil])
        #expect(request.resourceSpans.map { $0.scopeSpans[0].spans.count } == [2, 1, 1])
        #expect(try Self.translate("[]").resourceSpans.isEmpty)
    }

    @Test func badInputIsAnErrorThatSaysWhereAndWhat() throws {
        let cases: [(String, String)] = [
            (#"{"traceId": "1"}"#, "expected an array of spans"),
            (#"[{"id": "1"}]"#, "at [0]"),
            (#"[{"id": "1"}]"#, "no traceId"),
            (#"[{"traceId": "1"}]"#, "no id"),
            (#"[{"traceId": "xyz", "id": "1"}]"#, "is not hex"),
            (#"[{"traceId": "1", "id": "00000000000000000"}]"#, "longer than 16 hex digits"),
            (#"[{"traceId": "1", "id": "1", "timestamp": -5}]"#, "non-negative integer"),
            (#"[{"traceId": "1", "id": "1", "duration": 1.5}]"#, "non-negative integer"),
            (#"[{"traceId": "1", "id": "1", "timestamp": 99999999999999999999}]"#, "64 bits"),
            (#"[{"traceId": "1", "id": "1", "tags": {"a": [1]}}]"#, "at [0].tags.a"),
            (#"[{"traceId": "1", "id": "1""#, "line 1"),
            ("[" + String(repeating: #"{"x":"#, count: 100) + "1" + String(repeating: "}", count: 100) + "]", "nested"),
            ("", "expected"),
        ]
        for (json, expected) in cases {
            let message = try #require(Self.error(json), "\(json.prefix(60)) should fail")
            #expect(message.contains(expected), "\(json.prefix(60)): \(message)")
        }
    }

    @Test func randomAndMutatedInputNeverCrashes() {
        var random = SeededRandom(seed: 14)
        let valid = Array(
            #"[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","name":"n","kind":"CLIENT","tags":{"a":"b"},"annotations":[{"timestamp":1,"value":"v"}],"remoteEndpoint":{"port":1}}]"#
                .utf8
        )
        for round in 0..<20_000 {
            let bytes = random.mutated(valid, edits: 1 + round % 4)
            let output = try? bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromJSON: $0) }
            // Whatever was accepted decodes as a span batch (or is refused by it), never crashes.
            if let output { _ = try? SpanBatch(protobuf: output.bytes) }
        }
    }

    // MARK: - Protobuf (ListOfSpans)

    /// A `ListOfSpans` with one span like ``aClientSpanMapsEveryField()``'s JSON one, field numbers from zipkin.proto.
    private static func listOfSpans(traceID: [UInt8] = [0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f]) -> [UInt8] {
        var list = ProtobufWriter()
        list.writeMessage(1) { span in
            span.writeBytesField(1, traceID)
            span.writeBytesField(2, [0x6b, 0x22, 0x1d, 0x5b, 0xc9, 0xe6, 0x49, 0x6c])
            span.writeBytesField(3, [0x35, 0x2b, 0xff, 0x9a, 0x74, 0xca, 0x9a, 0xd2])
            span.writeVarintField(4, 1)  // CLIENT
            span.writeBytesField(5, "get /api".utf8)
            span.writeTag(6, .fixed64)
            span.writeFixed64(1_556_604_172_355_737)
            span.writeVarintField(7, 1431)
            span.writeMessage(8) { endpoint in
                endpoint.writeBytesField(1, "frontend".utf8)
                endpoint.writeBytesField(2, [192, 168, 99, 1])
                endpoint.writeVarintField(4, 3306)
            }
            span.writeMessage(9) { endpoint in
                endpoint.writeBytesField(1, "backend".utf8)
                endpoint.writeBytesField(3, [UInt8](repeating: 0, count: 15) + [1])
                endpoint.writeVarintField(4, 9000)
            }
            span.writeMessage(10) { annotation in
                annotation.writeTag(1, .fixed64)
                annotation.writeFixed64(1_556_604_172_355_800)
                annotation.writeBytesField(2, "wire send".utf8)
            }
            for (key, value) in [
                ("http.method", "GET"), ("otel.status_code", "ERROR"), ("otel.status_description", "boom"),
                ("w3c.tracestate", "rojo=00f067aa0ba902b7"), ("retries", "3"), ("cached", "false"),
            ] {
                span.writeMessage(11) { entry in
                    entry.writeBytesField(1, key.utf8)
                    entry.writeBytesField(2, value.utf8)
                }
            }
        }
        return list.bytes
    }

    @Test func whatATranslationHoldsIsReservedAsItGrowsAndARefusalStopsIt() throws {
        // 10,000 of the smallest protobuf spans (1-byte ids, 8 bytes each): a read span holds ~16 times its bytes.
        var list = ProtobufWriter()
        for index in 0..<10_000 {
            list.writeMessage(1) { span in
                span.writeBytesField(1, [1])
                span.writeBytesField(3, [UInt8(index % 255 + 1)])
            }
        }
        var granted = 0
        var calls = 0
        let output = try list.bytes.withUnsafeBytes { input in
            try ZipkinTranslator.protobuf(fromProtobuf: input) { bytes in
                granted += bytes
                calls += 1
                return true
            }
        }
        #expect(output.spans == 10_000)
        #expect(granted >= 10_000 * MemoryLayout<ZipkinSpan>.stride + output.bytes.count)
        #expect(granted <= 4 * (10_000 * MemoryLayout<ZipkinSpan>.stride + output.bytes.count))
        #expect(calls < 30)
        // A budget that runs out stops either translation with the bytes it refused.
        let json = Array(
            ("[" + repeatElement(#"{"traceId":"1","id":"1"}"#, count: 10_000).joined(separator: ",") + "]").utf8
        )
        for translate in [
            { try ZipkinTranslator.protobuf(fromProtobuf: $0, reserve: $1) },
            { try ZipkinTranslator.protobuf(fromJSON: $0, reserve: $1) },
        ] as [(UnsafeRawBufferPointer, (Int) -> Bool) throws -> ([UInt8], Int)] {
            for input in [list.bytes, json] {
                var budget = 100_000
                do {
                    _ = try input.withUnsafeBytes { input in
                        try translate(input) { bytes in
                            budget -= bytes
                            return budget >= 0
                        }
                    }
                } catch let error as TranslationError {
                    if error.refusedBytes == nil { continue }  // the other format's input: invalid, not refused
                    #expect(error.description.contains("more bytes than could be reserved"))
                    continue
                }
                Issue.record("a translation of \(input.count) bytes fit in 100,000 bytes")
            }
        }
    }

    @Test func theOutputBoundCoversTheLargestSpans() throws {
        // Every field, each span in its own resource (the service changes every span), ids of 16 and 8 bytes.
        var input: [UInt8] = []
        for index in 0..<100 {
            var span = Self.listOfSpans(traceID: [UInt8](repeating: 0xff, count: 16))
            if index % 2 == 1 { span = span.map { $0 == UInt8(ascii: "f") ? UInt8(ascii: "g") : $0 } }
            input += span
        }
        try input.withUnsafeBytes { input in
            var memory = TranslationMemory(reserve: { _ in true })
            var reader = ZipkinProtobufReader(bytes: input)
            try reader.spans(memory: &memory)
            let writer = ZipkinOTLPWriter(text: reader.text)
            let written = writer.request(reader.parsed, capacity: 0).count
            #expect(reader.parsed.count == 100)
            #expect(writer.maximumBytes(of: reader.parsed) >= written)
            #expect(writer.maximumBytes(of: reader.parsed) <= 3 * written)
        }
    }

    @Test func aSharedServerSpanBecomesItsClientsChildSoTheRPCMakesAnEdge() throws {
        let request = try Self.translate(
            """
            [{"traceId": "1", "id": "a", "parentId": "9", "kind": "CLIENT", "localEndpoint": {"serviceName": "front"}},
             {"traceId": "1", "id": "a", "parentId": "9", "kind": "SERVER", "shared": true,
              "localEndpoint": {"serviceName": "back"}},
             {"traceId": "1", "id": "b", "parentId": "a", "kind": "SERVER", "shared": false,
              "localEndpoint": {"serviceName": "back"}}]
            """
        )
        let client = request.resourceSpans[0].scopeSpans[0].spans[0]
        let shared = request.resourceSpans[1].scopeSpans[0].spans[0]
        let unshared = request.resourceSpans[1].scopeSpans[0].spans[1]
        #expect(client.spanID == Data([0, 0, 0, 0, 0, 0, 0, 0x0a]))
        #expect(shared.parentSpanID == client.spanID)
        #expect(shared.spanID != client.spanID && shared.spanID.count == 8)
        #expect(unshared.spanID == Data([0, 0, 0, 0, 0, 0, 0, 0x0b]) && unshared.parentSpanID == client.spanID)
        // Every copy of the span derives the same id; protobuf's `shared` (field 13) does the same.
        #expect(
            try Self.translate(#"[{"traceId":"1","id":"a","kind":"SERVER","shared":true}]"#)
                .resourceSpans[0].scopeSpans[0].spans[0].spanID == shared.spanID
        )
        var list = ProtobufWriter()
        list.writeMessage(1) { span in
            span.writeBytesField(1, [1])
            span.writeBytesField(3, [0x0a])
            span.writeVarintField(4, 2)  // SERVER
            span.writeVarintField(13, 1)
        }
        let fromProtobuf = try list.bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromProtobuf: $0) }
        let span = try OTLPFixtures.Request(serializedBytes: fromProtobuf.bytes).resourceSpans[0].scopeSpans[0].spans[0]
        #expect(span.spanID == shared.spanID && span.parentSpanID == client.spanID)
    }

    @Test func protobufAndJSONOfTheSameSpanTranslateToTheSameOTLPBytes() throws {
        let json = Array(
            """
            [{"traceId": "5af7183fb1d4cf5f", "id": "352bff9a74ca9ad2", "parentId": "6b221d5bc9e6496c",
              "name": "get /api", "kind": "CLIENT", "timestamp": 1556604172355737, "duration": 1431,
              "localEndpoint": {"serviceName": "frontend", "ipv4": "192.168.99.1", "port": 3306},
              "remoteEndpoint": {"serviceName": "backend", "ipv6": "::1", "port": 9000},
              "tags": {"http.method": "GET", "otel.status_code": "ERROR", "otel.status_description": "boom",
                       "w3c.tracestate": "rojo=00f067aa0ba902b7", "retries": "3", "cached": "false"},
              "annotations": [{"timestamp": 1556604172355800, "value": "wire send"}]}]
            """.utf8
        )
        let fromJSON = try json.withUnsafeBytes { try ZipkinTranslator.protobuf(fromJSON: $0) }
        let fromProtobuf = try Self.listOfSpans().withUnsafeBytes { try ZipkinTranslator.protobuf(fromProtobuf: $0) }
        #expect(fromProtobuf.spans == 1)
        #expect(fromProtobuf.bytes == fromJSON.bytes)
    }

    @Test func badProtobufIsAnErrorAndRandomBytesNeverCrash() throws {
        func error(_ bytes: [UInt8]) -> String? {
            do {
                _ = try bytes.withUnsafeBytes { try ZipkinTranslator.protobuf(fromProtobuf: $0) }
                return nil
            } catch {
                return "\(error)"
            }
        }
        let valid = Self.listOfSpans()
        #expect(error(Array(valid.dropLast(3)))?.contains("invalid Zipkin v2 protobuf") == true)
        #expect(error(Self.listOfSpans(traceID: []))?.contains("span 0 has no trace_id") == true)
        #expect(
            error(Self.listOfSpans(traceID: [UInt8](repeating: 1, count: 17)))?.contains(
                "span 0 has a trace_id over 16 bytes"
            )
                == true
        )
        // `kind` sent as a string: the wrong wire type.
        var wrongType = ProtobufWriter()
        wrongType.writeMessage(1) { $0.writeBytesField(4, "CLIENT".utf8) }
        #expect(error(wrongType.bytes)?.contains("wire type") == true)
        #expect(error([]) == nil)
        var random = SeededRandom(seed: 9411)
        for round in 0..<20_000 {
            var bytes = valid
            for _ in 0..<(1 + round % 4) {
                let index = Int(random.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            }
            if let output = try? bytes.withUnsafeBytes({ try ZipkinTranslator.protobuf(fromProtobuf: $0) }) {
                _ = try? SpanBatch(protobuf: output.bytes)
            }
        }
    }
}
