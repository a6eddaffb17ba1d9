import Foundation
import MetronomeFuzz
import MetronomeWire
import OTLPProto

/// The spans of an OTLP request as a Jaeger client would send them — one batch per resource (its process), kind as
/// the `span.kind` tag, times in µs, string attributes as string tags — as Thrift `Batch`es (binary protocol, the
/// collector's HTTP body) or protobuf `PostSpansRequest`s, for the decode benchmark.
enum JaegerEncoding {
    static func thrift(_ request: OTLPFixtures.Request) -> [[UInt8]] {
        request.resourceSpans.map { resourceSpans in
            let spans = resourceSpans.scopeSpans.flatMap(\.spans)
            var writer = ThriftTestWriter(.binary)
            writer.structBody { batch in
                batch.structure(1) { $0.string(1, serviceName(resourceSpans)) }
                batch.structList(2, count: spans.count) { out, index in
                    let span = spans[index]
                    let (high, low) = halves(span.traceID)
                    out.i64(1, low)
                    out.i64(2, high)
                    out.i64(3, halves(span.spanID).low)
                    out.i64(4, span.parentSpanID.isEmpty ? 0 : halves(span.parentSpanID).low)
                    out.string(5, span.name)
                    out.i32(7, 1)
                    out.i64(8, Int64(span.startTimeUnixNano / 1000))
                    out.i64(9, Int64((span.endTimeUnixNano - span.startTimeUnixNano) / 1000))
                    let tags = self.tags(span)
                    out.structList(10, count: tags.count) { $0.tag(tags[$1].key, .string(tags[$1].value)) }
                }
            }
            return writer.bytes
        }
    }

    static func protobuf(_ request: OTLPFixtures.Request) -> [[UInt8]] {
        request.resourceSpans.map { resourceSpans in
            var writer = ProtobufWriter()
            writer.writeMessage(1) { batch in
                for span in resourceSpans.scopeSpans.flatMap(\.spans) {
                    batch.writeMessage(1) { out in
                        out.writeBytesField(1, span.traceID)
                        out.writeBytesField(2, span.spanID)
                        out.writeBytesField(3, span.name.utf8)
                        if !span.parentSpanID.isEmpty {
                            out.writeMessage(4) { reference in
                                reference.writeBytesField(1, span.traceID)
                                reference.writeBytesField(2, span.parentSpanID)
                            }
                        }
                        out.writeVarintField(5, 1)
                        out.writeMessage(6) { time(&$0, span.startTimeUnixNano) }
                        out.writeMessage(7) { time(&$0, span.endTimeUnixNano - span.startTimeUnixNano) }
                        for (key, value) in tags(span) {
                            out.writeMessage(8) { keyValue in
                                keyValue.writeBytesField(1, key.utf8)
                                keyValue.writeBytesField(3, value.utf8)
                            }
                        }
                    }
                }
                batch.writeMessage(2) { $0.writeBytesField(1, serviceName(resourceSpans).utf8) }
            }
            return writer.bytes
        }
    }

    private static func time(_ writer: inout ProtobufWriter, _ nanos: UInt64) {
        writer.writeVarintField(1, nanos / 1_000_000_000)
        writer.writeVarintField(2, nanos % 1_000_000_000)
    }

    private static func tags(_ span: OTLPFixtures.Span) -> [(key: String, value: String)] {
        let kind: String? =
            switch span.kind {
            case .client: "client"
            case .server: "server"
            case .producer: "producer"
            case .consumer: "consumer"
            default: nil
            }
        return (kind.map { [("span.kind", $0)] } ?? []) + span.attributes.map { ($0.key, $0.value.stringValue) }
    }

    private static func serviceName(_ resourceSpans: OTLPFixtures.ResourceSpans) -> String {
        resourceSpans.resource.attributes.first { $0.key == "service.name" }?.value.stringValue ?? ""
    }

    /// An id's high and low 64 bits (a span id is all low).
    private static func halves(_ id: Data) -> (high: Int64, low: Int64) {
        let bytes = [UInt8](repeating: 0, count: max(0, 16 - id.count)) + id
        let value = { (slice: ArraySlice<UInt8>) in Int64(bitPattern: slice.reduce(0) { $0 << 8 | UInt64($1) }) }
        return (value(bytes[0..<8]), value(bytes[8..<16]))
    }
}
