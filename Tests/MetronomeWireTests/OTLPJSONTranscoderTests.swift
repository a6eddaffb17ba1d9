import Foundation
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

    @Test func transcodesToTheBytesSwiftProtobufEncodes() throws {
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
        #expect(transcoded == Array(try expected.serializedData()))
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
