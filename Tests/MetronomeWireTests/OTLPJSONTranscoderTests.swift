import Foundation
import MetronomeFuzz
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

struct OTLPJSONTranscoderTests {
    static let json = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},
          {"key":"replicas","value":{"intValue":"3"}}]},
          "scopeSpans":[{"scope":{"name":"manual"},"spans":[
            {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173",
             "name":"POST /pay","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
             "attributes":[{"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.5}},
               {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":2}]}}}],
             "events":[{"timeUnixNano":"1544712660500000000","name":"retry","attributes":[]}],
             "links":[{"traceId":"5B8EFFF798038103D269B633813FC60D","spanId":"EEE19B7EC3C1B175"}],
             "status":{"code":"STATUS_CODE_ERROR","message":"declined"},"flags":1,"unknownField":{"x":1}}]}]}]}
        """

    @Test func transcodesToWhatSwiftProtobufEncodes() throws {
        let transcoded = try OTLPJSONTranscoder.protobuf(fromJSON: Data(Self.json.utf8))
        let hex = { (text: String) in
            Data(
                stride(from: 0, to: text.count, by: 2).map {
                    UInt8(text.dropFirst($0).prefix(2), radix: 16)!
                }
            )
        }
        let expected = OTLPFixtures.Request.with {
            $0.resourceSpans = [
                .with {
                    $0.resource.attributes = [
                        OTLPFixtures.attribute("service.name", "checkout"),
                        .with {
                            $0.key = "replicas"; $0.value.intValue = 3
                        },
                    ]
                    $0.scopeSpans = [
                        .with {
                            $0.scope.name = "manual"
                            $0.spans = [
                                .with {
                                    $0.traceID = hex("5B8EFFF798038103D269B633813FC60C")
                                    $0.spanID = hex("EEE19B7EC3C1B174")
                                    $0.parentSpanID = hex("EEE19B7EC3C1B173")
                                    $0.name = "POST /pay"
                                    $0.kind = .server
                                    $0.startTimeUnixNano = 1_544_712_660_000_000_000
                                    $0.endTimeUnixNano = 1_544_712_661_000_000_000
                                    $0.attributes = [
                                        .with {
                                            $0.key = "ok"; $0.value.boolValue = true
                                        },
                                        .with {
                                            $0.key = "ratio"; $0.value.doubleValue = 0.5
                                        },
                                        .with {
                                            $0.key = "list"
                                            $0.value.arrayValue.values = [
                                                .with { $0.stringValue = "a" }, .with { $0.intValue = 2 },
                                            ]
                                        },
                                    ]
                                    $0.events = [
                                        .with {
                                            $0.timeUnixNano = 1_544_712_660_500_000_000; $0.name = "retry"
                                        }
                                    ]
                                    $0.links = [
                                        .with {
                                            $0.traceID = hex("5B8EFFF798038103D269B633813FC60D")
                                            $0.spanID = hex("EEE19B7EC3C1B175")
                                        }
                                    ]
                                    $0.status.code = .error
                                    $0.status.message = "declined"
                                    $0.flags = 1
                                }
                            ]
                        }
                    ]
                }
            ]
        }
        // Fields come out in the JSON's order (status code before message here), so the bytes may be ordered
        // differently from SwiftProtobuf's; the message and its size are the same.
        #expect(try OTLPFixtures.Request(serializedBytes: transcoded) == expected)
        #expect(transcoded.count == (try expected.serializedData()).count)
        let batch = try SpanBatch(protobuf: transcoded)
        #expect(batch.spans.first?.traceID.count == 16)
        #expect(batch.spans.first?.statusCode == 2)
    }

    @Test func badHexIdNamesTheField() {
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#
        #expect {
            try OTLPJSONTranscoder.protobuf(fromJSON: Data(body.utf8))
        } throws: { error in
            "\(error)".contains("resourceSpans[0].scopeSpans[0].spans[0].traceId") && "\(error)".contains("not hex")
        }
    }

    @Test func unknownEnumNameIsAnError() {
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SERVER"}]}]}]}"#
        #expect(throws: OTLPJSONTranscoder.Error.self) { try OTLPJSONTranscoder.protobuf(fromJSON: Data(body.utf8)) }
    }

    @Test func notJSONIsAnError() {
        #expect(throws: OTLPJSONTranscoder.Error.self) {
            try OTLPJSONTranscoder.protobuf(fromJSON: Data("garbage".utf8))
        }
    }

    @Test func emptyObjectIsAnEmptyRequest() throws {
        #expect(try OTLPJSONTranscoder.protobuf(fromJSON: Data("{}".utf8)).isEmpty)
    }
}

/// The streaming transcoder against hostile documents: memory linear in the body, bounded nesting, located errors.
struct OTLPJSONHostileInputTests {
    private func transcode(_ json: String) throws(OTLPJSONTranscoder.Error) -> [UInt8] {
        try OTLPJSONTranscoder.protobuf(fromJSON: Data(json.utf8))
    }

    private func message(_ json: String) -> String {
        do {
            _ = try transcode(json)
            return "no error"
        } catch {
            return error.description
        }
    }

    private func spans(_ body: String) -> String {
        #"{"resourceSpans":[{"scopeSpans":[{"spans":["# + body + "]}]}]}"
    }

    @Test func millionsOfEmptyObjectsCostNoMoreThanTheirBytes() throws {
        let count = 300_000
        let shapes = [
            spans(Array(repeating: "{}", count: count).joined(separator: ",")),
            #"{"resourceSpans":["# + Array(repeating: "{}", count: count).joined(separator: ",") + "]}",
            #"{"resourceSpans":[{"resource":{"attributes":["#
                + Array(repeating: "{}", count: count)
                .joined(separator: ",") + "]}}]}",
        ]
        for json in shapes {
            let protobuf = try transcode(json)
            #expect(protobuf.count <= json.utf8.count)
        }
        // The empty spans are refused at the first one when indexed.
        #expect(throws: WireError.invalidSpan(index: 0, reason: "has a 0-byte trace id; a trace id must be 16 bytes")) {
            try SpanBatch(protobuf: try transcode(shapes[0]))
        }
    }

    @Test func deepUnknownValuesAreRefusedWithoutRecursion() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let text = message(#"{"resourceSpans":[{"extra":"# + deep + "}]}")
        #expect(text.contains("at resourceSpans[0].extra"))
        #expect(text.contains("values nested deeper than 208 levels"))
        // Within the bound, unknown values of every kind are skipped.
        let known = #"{"resourceSpans":[{"x":{"a":[1,-2.5e3,"s\"",true,false,null,{}],"b":{"c":[]}}}]}"#
        #expect(message(known) == "no error")
    }

    @Test func attributeValuesNestedPastTheLimitNameTheirPath() {
        var value = #"{"stringValue":"x"}"#
        for _ in 0..<70 { value = #"{"arrayValue":{"values":["# + value + "]}}" }
        let text = message(spans(#"{"attributes":[{"key":"k","value":"# + value + "}]}"))
        #expect(text.contains("deeper than 64 levels"))
        #expect(text.hasPrefix("invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value"))
    }

    @Test func errorsGiveLineAndColumn() {
        let json = "{\n  \"resourceSpans\": [\n    {\"scopeSpans\": [{\"spans\": [{\"name\": 12}]}]}\n  ]\n}"
        #expect(
            message(json)
                == "invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans[0].name (line 3, column 41): expected a string, found a number"
        )
        #expect(message("{} x").contains("(line 1, column 4): unexpected 'x' after the document"))
        #expect(message(#"{"resourceSpans":[{"#).contains("expected a member name, found the end of the document"))
        #expect(message("").contains("expected an object, found the end of the document"))
        #expect(message(#"{"a":"\q"}"#).contains("invalid escape"))
        #expect(message("{\"a\":\"\u{1}\"}").contains("control character"))
        #expect(message(#"{"a":"\ud800"}"#).contains("unpaired UTF-16 surrogate"))
    }

    @Test func aHugeInvalidIdIsQuotedShort() {
        let id = String(repeating: "z", count: 1 << 20)
        let text = message(spans(#"{"traceId":""# + id + #""}"#))
        #expect(text.utf8.count < 400)
        #expect(text.contains("(1048576 bytes) is not hex"))
    }

    @Test func stringsAreUnescaped() throws {
        let json = spans(
            #"{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"a\"b\\c\/\n\u00e9\ud83d\ude00"}"#
        )
        let batch = try SpanBatch(protobuf: try transcode(json))
        let name = batch.withBytes { String(decoding: $0[batch.spans[0].name.range], as: UTF8.self) }
        #expect(name == "a\"b\\c/\né😀")
    }

    @Test func integersAndDoublesInEveryOTLPForm() throws {
        let json = spans(
            #"{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","startTimeUnixNano":"1","#
                + #""endTimeUnixNano":18446744073709551615,"kind":"SPAN_KIND_CLIENT","attributes":["#
                + #"{"key":"i","value":{"intValue":"-1"}},{"key":"d","value":{"doubleValue":"Infinity"}},"#
                + #"{"key":"e","value":{"doubleValue":1.5e-3}},{"key":"z","value":{"intValue":0}}]}"#
        )
        let batch = try SpanBatch(protobuf: try transcode(json))
        let span = batch.spans[0]
        #expect(span.startTimeUnixNano == 1 && span.endTimeUnixNano == UInt64.max && span.kind == 3)
        let values = span.attributes.map { batch.attributes[$0] }
        #expect(values[0].intValue == -1)
        #expect(values[1].doubleValue == .infinity)
        #expect(values[2].doubleValue == 0.0015)
        #expect(values[3].type == .int && values[3].intValue == 0)
        #expect(message(spans(#"{"startTimeUnixNano":18446744073709551616}"#)).contains("expected a 64-bit integer"))
        #expect(message(spans(#"{"startTimeUnixNano":1.5}"#)).contains("expected a 64-bit integer"))
    }

    @Test func mutatedDocumentsNeverCrash() {
        let seed = Array(OTLPJSONTranscoderTests.json.utf8)
        var random = SeededRandom(seed: 42)
        for _ in 0..<3000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: index)
                default: bytes.insert(Array("{}[],:\"\\0-e".utf8).randomElement(using: &random)!, at: index)
                }
            }
            if let protobuf = try? OTLPJSONTranscoder.protobuf(fromJSON: Data(bytes)) {
                _ = try? SpanBatch(protobuf: protobuf)
            }
        }
    }
}
