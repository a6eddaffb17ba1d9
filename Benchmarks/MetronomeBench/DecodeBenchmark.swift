import ArgumentParser
import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Decoding cost: `SpanBatch` (an index over the bytes) versus SwiftProtobuf (full messages) on the same requests,
/// and, with `--format zipkin-json|zipkin-proto|jaeger-thrift|jaeger-proto`, a receiver's translation of the same spans
/// into a batch.
struct DecodeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract:
            "ns/span: SpanBatch vs SwiftProtobuf, or a Zipkin or Jaeger encoding's translation beside OTLP's SpanBatch."
    )

    @Option(help: "Resources per request.") var resources = 4
    @Option(help: "Spans per resource.") var spansPerResource = 100
    @Option(help: "Measured decodes of the request.") var iterations = 2000
    @Option(
        help:
            "otlp, zipkin-json, zipkin-proto, jaeger-thrift or jaeger-proto (the same spans, translated into a SpanBatch)."
    )
    var format = Format.otlp

    enum Format: String, ExpressibleByArgument {
        case otlp
        case zipkinJSON = "zipkin-json"
        case zipkinProto = "zipkin-proto"
        case jaegerThrift = "jaeger-thrift"
        case jaegerProto = "jaeger-proto"
    }

    func run() throws {
        let request = OTLPFixtures.tempoShaped(
            resources: resources,
            spansPerResource: spansPerResource,
            nowNanos: 1_700_000_000_000_000_000
        )
        let bytes: [UInt8] = try request.serializedBytes()
        let data = Data(bytes)
        print("request: \(bytes.count) bytes, \(resources * spansPerResource) spans")
        var decodedSpans = 0
        Measurement.run(iterations: iterations) {
            let batch = try! SpanBatch(protobuf: bytes)
            decodedSpans = batch.spanCount
            return batch.spanCount
        }.report("SpanBatch")
        Measurement.run(iterations: iterations) {
            let message = try! OTLPFixtures.Request(serializedBytes: data)
            return message.resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } }
        }.report("SwiftProtobuf")
        precondition(decodedSpans == resources * spansPerResource)
        guard format != .otlp else { return }
        // One request per resource for Jaeger (a batch has one process), one for Zipkin.
        let requests: [[UInt8]] =
            switch format {
            case .otlp: []
            case .zipkinJSON: [ZipkinEncoding.json(request)]
            case .zipkinProto: [ZipkinEncoding.protobuf(request)]
            case .jaegerThrift: JaegerEncoding.thrift(request)
            case .jaegerProto: JaegerEncoding.protobuf(request)
            }
        print("\(format.rawValue): \(requests.reduce(0) { $0 + $1.count }) bytes in \(requests.count) requests")
        Measurement.run(iterations: iterations) {
            var spans = 0
            for body in requests {
                let translated = try! body.withUnsafeBytes { bytes in
                    switch format {
                    case .otlp: preconditionFailure()
                    case .zipkinJSON: try ZipkinTranslator.protobuf(fromJSON: bytes)
                    case .zipkinProto: try ZipkinTranslator.protobuf(fromProtobuf: bytes)
                    case .jaegerThrift: try JaegerTranslator.protobuf(fromThriftBatch: bytes, protocol: .binary)
                    case .jaegerProto: try JaegerTranslator.protobuf(fromPostSpans: bytes)
                    }
                }
                spans += try! SpanBatch(protobuf: translated.bytes).spanCount
            }
            precondition(spans == resources * spansPerResource)
            return spans
        }.report("\(format.rawValue) → SpanBatch")
    }
}
