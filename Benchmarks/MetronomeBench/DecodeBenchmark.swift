import ArgumentParser
import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Decoding cost: `SpanBatch` (an index over the bytes) versus SwiftProtobuf (full messages) on the same requests,
/// and, with `--format zipkin-json|zipkin-proto`, the Zipkin receiver's translation of the same spans into a batch.
struct DecodeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "ns/span: SpanBatch vs SwiftProtobuf, or a Zipkin encoding's translation beside OTLP's SpanBatch."
    )

    @Option(help: "Resources per request.") var resources = 4
    @Option(help: "Spans per resource.") var spansPerResource = 100
    @Option(help: "Measured decodes of the request.") var iterations = 2000
    @Option(help: "otlp, zipkin-json or zipkin-proto (the same spans, translated into a SpanBatch).")
    var format = Format.otlp

    enum Format: String, ExpressibleByArgument {
        case otlp
        case zipkinJSON = "zipkin-json"
        case zipkinProto = "zipkin-proto"
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
        let zipkin = format == .zipkinJSON ? ZipkinEncoding.json(request) : ZipkinEncoding.protobuf(request)
        print("\(format.rawValue): \(zipkin.count) bytes")
        Measurement.run(iterations: iterations) {
            let translated = try! zipkin.withUnsafeBytes { bytes in
                format == .zipkinJSON
                    ? try ZipkinTranslator.protobuf(fromJSON: bytes)
                    : try ZipkinTranslator.protobuf(fromProtobuf: bytes)
            }
            let batch = try! SpanBatch(protobuf: translated.bytes)
            precondition(batch.spanCount == resources * spansPerResource)
            return batch.spanCount
        }.report("\(format.rawValue) → SpanBatch")
    }
}
