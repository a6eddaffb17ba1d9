import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf

/// Feeds a seeded stream of mutated OTLP requests, protobuf and JSON, through everything that reads client bytes:
/// ``SpanBatch`` (the decoder), ``OTLPJSONTranscoder`` and ``AttributeValueFormatter``. A crash, a hang or a broken
/// bound is the failure; every error thrown is a request refused, which is fine.
///
/// Mutations are byte flips, interesting bytes, insertions, deletions, duplicated ranges, truncation and, for
/// protobuf, a range wrapped in a length-delimited field (which builds nesting the seeds do not have).
public struct WireFuzzer {
    /// What a run did.
    public struct Report: CustomStringConvertible, Sendable {
        public var inputs = 0
        /// Inputs that decoded (after transcoding, for JSON).
        public var decoded = 0
        public var spans = 0
        public var formattedBytes = 0

        public var description: String {
            "\(inputs) inputs, \(decoded) decoded, \(spans) spans, \(formattedBytes) attribute bytes formatted"
        }
    }

    private var random: SeededRandom
    private let protobufSeeds: [[UInt8]]
    private let jsonSeeds: [[UInt8]]
    private let limits = SpanBatch.Limits()

    public init(seed: UInt64) {
        random = SeededRandom(seed: seed)
        let now: UInt64 = 1_700_000_000_000_000_000
        var nested = OTLPFixtures.tempoShaped(resources: 1, spansPerResource: 2, nowNanos: now)
        nested.resourceSpans[0].scopeSpans[0].spans[0].attributes.append(
            OTLPFixtures.KeyValue.with {
                $0.key = "nested"
                $0.value.arrayValue.values = [
                    .with { $0.kvlistValue.values = [OTLPFixtures.attribute("k", "v")] },
                    .with { $0.intValue = -3 }, .with { $0.doubleValue = 0.5 }, .with { $0.boolValue = true },
                    .with { $0.bytesValue = Data([1, 2]) },
                ]
            }
        )
        protobufSeeds = [
            try! OTLPFixtures.tempoShaped(resources: 2, spansPerResource: 3, nowNanos: now).serializedBytes(),
            try! nested.serializedBytes(),
        ]
        jsonSeeds = [Array(Self.json.utf8)]
    }

    /// Runs until `deadline` or `maxInputs`, whichever comes first.
    public mutating func run(until deadline: ContinuousClock.Instant, maxInputs: Int = .max) -> Report {
        var report = Report()
        while report.inputs < maxInputs && (report.inputs % 64 != 0 || ContinuousClock.now < deadline) {
            report.inputs += 1
            if Bool.random(using: &random) {
                var bytes = protobufSeeds.randomElement(using: &random)!
                mutate(&bytes, wrapping: true)
                check(bytes, into: &report)
            } else {
                var bytes = jsonSeeds.randomElement(using: &random)!
                mutate(&bytes, wrapping: false)
                guard let protobuf = try? OTLPJSONTranscoder.protobuf(fromJSON: Data(bytes), limits: limits) else {
                    continue
                }
                precondition(protobuf.count <= bytes.count, "transcoding grew \(bytes.count) bytes of JSON")
                check(protobuf, into: &report)
            }
        }
        return report
    }

    /// Decodes `bytes` and formats every attribute of what decoded, checking the decoder's bounds.
    private func check(_ bytes: [UInt8], into report: inout Report) {
        guard let batch = try? SpanBatch(protobuf: bytes, limits: limits) else { return }
        report.decoded += 1
        report.spans += batch.spanCount
        // Each indexed span costs at least 30 bytes on the wire (its two ids), each attribute at least 5.
        precondition(batch.spanCount * 30 <= bytes.count && batch.attributes.count * 5 <= bytes.count)
        var output: [UInt8] = []
        batch.withBytes { raw in
            for attribute in batch.attributes {
                output.removeAll(keepingCapacity: true)
                AttributeValueFormatter.append(attribute, bytes: raw, to: &output)
                report.formattedBytes += output.count
            }
        }
    }

    private mutating func mutate(_ bytes: inout [UInt8], wrapping: Bool) {
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            guard !bytes.isEmpty else {
                bytes.append(UInt8.random(in: 0...255, using: &random))
                continue
            }
            let index = Int.random(in: 0..<bytes.count, using: &random)
            let end = min(bytes.count, index + Int.random(in: 1...64, using: &random))
            switch Int.random(in: 0..<(wrapping ? 8 : 7), using: &random) {
            case 0: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1: bytes[index] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x2A].randomElement(using: &random)!
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
            case 3: bytes.removeSubrange(index..<end)
            case 4: bytes.insert(contentsOf: bytes[index..<end], at: index)
            case 5: bytes.removeSubrange(index...)
            case 6: bytes.insert(contentsOf: Array("{}[],:\"\\0-e".utf8).shuffled(using: &random).prefix(3), at: index)
            default:
                // Wrap the range in an AnyValue.array_value / ArrayValue.values pair, or any length-delimited field.
                let field = [UInt8(5 << 3 | 2), UInt8(1 << 3 | 2), UInt8(6 << 3 | 2)].randomElement(using: &random)!
                var wrapped = [field]
                var length = UInt64(end - index)
                while length >= 0x80 {
                    wrapped.append(UInt8(truncatingIfNeeded: length) | 0x80)
                    length >>= 7
                }
                wrapped.append(UInt8(length))
                bytes.replaceSubrange(index..<end, with: wrapped + bytes[index..<end])
            }
        }
    }

    private static let json = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},
          {"key":"deep","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"k","value":
          {"intValue":"7"}}]}},{"doubleValue":1.5},{"boolValue":true},{"bytesValue":"AQI="}]}}}]},
          "scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
          "spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"GET /x","kind":2,
          "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",
          "attributes":[{"key":"http.method","value":{"stringValue":"GET"}}],"status":{"code":2,"message":"m"},
          "events":[{"name":"e"}],"links":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}]}
        """
}
