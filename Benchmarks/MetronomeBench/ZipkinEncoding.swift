import Foundation
import MetronomeWire
import OTLPProto

/// The spans of an OTLP request as a Zipkin reporter would send them (service name, kind, times in µs, string
/// attributes as tags), in Zipkin v2 JSON or protobuf (`ListOfSpans`), for the decode benchmark.
enum ZipkinEncoding {
    static func json(_ request: OTLPFixtures.Request) -> [UInt8] {
        var spans: [[String: Any]] = []
        forEachSpan(request) { service, span in
            var entry: [String: Any] = [
                "traceId": hex(span.traceID), "id": hex(span.spanID), "name": span.name,
                "timestamp": span.startTimeUnixNano / 1000,
                "duration": (span.endTimeUnixNano - span.startTimeUnixNano) / 1000,
                "localEndpoint": ["serviceName": service],
                "tags": Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value.stringValue) }),
            ]
            if let kind = kindName(span.kind) { entry["kind"] = kind }
            spans.append(entry)
        }
        return Array(try! JSONSerialization.data(withJSONObject: spans))
    }

    static func protobuf(_ request: OTLPFixtures.Request) -> [UInt8] {
        var list = ProtobufWriter()
        forEachSpan(request) { service, span in
            list.writeMessage(1) { out in
                out.writeBytesField(1, span.traceID)
                out.writeBytesField(3, span.spanID)
                if let kind = kindNumber(span.kind) { out.writeVarintField(4, kind) }
                out.writeBytesField(5, span.name.utf8)
                out.writeTag(6, .fixed64)
                out.writeFixed64(span.startTimeUnixNano / 1000)
                out.writeVarintField(7, (span.endTimeUnixNano - span.startTimeUnixNano) / 1000)
                out.writeMessage(8) { $0.writeBytesField(1, service.utf8) }
                for attribute in span.attributes {
                    out.writeMessage(11) { entry in
                        entry.writeBytesField(1, attribute.key.utf8)
                        entry.writeBytesField(2, attribute.value.stringValue.utf8)
                    }
                }
            }
        }
        return list.bytes
    }

    private static func forEachSpan(_ request: OTLPFixtures.Request, _ body: (String, OTLPFixtures.Span) -> Void) {
        for resourceSpans in request.resourceSpans {
            let service =
                resourceSpans.resource.attributes.first { $0.key == "service.name" }?.value.stringValue ?? ""
            for scope in resourceSpans.scopeSpans {
                for span in scope.spans { body(service, span) }
            }
        }
    }

    private static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    private static func kindName(_ kind: OTLPFixtures.Span.SpanKind) -> String? {
        switch kind {
        case .server: "SERVER"
        case .client: "CLIENT"
        case .producer: "PRODUCER"
        case .consumer: "CONSUMER"
        default: nil
        }
    }

    private static func kindNumber(_ kind: OTLPFixtures.Span.SpanKind) -> UInt64? {
        switch kind {
        case .client: 1
        case .server: 2
        case .producer: 3
        case .consumer: 4
        default: nil
        }
    }
}
