import Foundation
import MetronomeFuzz
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeWire

/// The Jaeger translations (Thrift binary and compact, protobuf), checked by decoding their OTLP output with
/// SwiftProtobuf.
struct JaegerTranslatorTests {
    static let traceHigh: Int64 = 0x1112_1314_1516_1718
    static let traceLow: Int64 = 0x0102_0304_0506_0708
    static let spanID: Int64 = 0x2122_2324_2526_2728
    static let parentID: Int64 = 0x3132_3334_3536_3738
    static let startMicros: Int64 = 1_700_000_000_000_000

    typealias TagValue = ThriftTestWriter.TagValue

    static let spanTags: [(String, TagValue)] = [
        ("span.kind", .string("client")), ("error", .bool(true)), ("otel.status_description", .string("boom")),
        ("http.method", .string("GET")), ("retries", .long(3)), ("ratio", .double(0.5)), ("cached", .bool(false)),
        ("blob", .binary([1, 2, 3])), ("w3c.tracestate", .string("a=b")),
    ]

    /// A Batch with one span that has every field, in `thriftProtocol`.
    static func batch(_ thriftProtocol: ThriftTestWriter.ThriftProtocol, tags: [(String, TagValue)] = spanTags)
        -> ThriftTestWriter
    {
        var writer = ThriftTestWriter(thriftProtocol)
        writer.structBody { batch in
            batch.structure(1) { process in
                process.string(1, "checkout")
                let tags: [(String, TagValue)] = [("host.name", .string("h1")), ("pid", .long(42))]
                process.structList(2, count: tags.count) { $0.tag(tags[$1].0, tags[$1].1) }
            }
            batch.structList(2, count: 1) { span, _ in
                span.i64(1, traceLow)
                span.i64(2, traceHigh)
                span.i64(3, spanID)
                span.i64(4, parentID)
                span.string(5, "GET /cart")
                span.structList(6, count: 2) { reference, index in
                    reference.i32(1, Int32(index))  // CHILD_OF the parent, FOLLOWS_FROM another trace
                    reference.i64(2, index == 0 ? traceLow : 7)
                    reference.i64(3, index == 0 ? traceHigh : 0)
                    reference.i64(4, index == 0 ? parentID : 0x99)
                }
                span.i32(7, 1)
                span.i64(8, startMicros)
                span.i64(9, 1500)
                span.structList(10, count: tags.count) { $0.tag(tags[$1].0, tags[$1].1) }
                span.structList(11, count: 1) { log, _ in
                    log.i64(1, startMicros + 100)
                    let fields: [(String, TagValue)] = [("event", .string("retry")), ("attempt", .long(2))]
                    log.structList(2, count: fields.count) { $0.tag(fields[$1].0, fields[$1].1) }
                }
                span.bool(12, false)
            }
        }
        return writer
    }

    static func translate(_ writer: ThriftTestWriter) throws -> OTLPFixtures.Request {
        let output = try writer.bytes.withUnsafeBytes {
            try JaegerTranslator.protobuf(
                fromThriftBatch: $0,
                protocol: writer.thriftProtocol == .binary ? .binary : .compact
            )
        }
        return try OTLPFixtures.Request(serializedBytes: output.bytes)
    }

    static func bigEndian(_ values: Int64...) -> Data {
        Data(values.flatMap { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } })
    }

    @Test func aThriftSpanMapsEveryField() throws {
        let request = try Self.translate(Self.batch(.binary))
        let resource = request.resourceSpans[0].resource
        #expect(resource.attributes.map(\.key) == ["service.name", "host.name", "pid"])
        #expect(resource.attributes[0].value.stringValue == "checkout")
        #expect(resource.attributes[2].value.intValue == 42)
        let span = request.resourceSpans[0].scopeSpans[0].spans[0]
        #expect(span.traceID == Self.bigEndian(Self.traceHigh, Self.traceLow))
        #expect(span.spanID == Self.bigEndian(Self.spanID))
        #expect(span.parentSpanID == Self.bigEndian(Self.parentID))
        #expect(span.name == "GET /cart")
        #expect(span.kind == .client)
        #expect(span.traceState == "a=b")
        #expect(span.startTimeUnixNano == UInt64(Self.startMicros) * 1000)
        #expect(span.endTimeUnixNano == UInt64(Self.startMicros) * 1000 + 1_500_000)
        #expect(span.status.code == .error && span.status.message == "boom")
        // The tags that became fields are not attributes; the others keep their types.
        #expect(span.attributes.map(\.key) == ["http.method", "retries", "ratio", "cached", "blob"])
        #expect(span.attributes[1].value.intValue == 3)
        #expect(span.attributes[2].value.doubleValue == 0.5)
        #expect(span.attributes[3].value.value == .boolValue(false))
        #expect(span.attributes[4].value.bytesValue == Data([1, 2, 3]))
        #expect(span.events.count == 1)
        #expect(span.events[0].name == "retry" && span.events[0].timeUnixNano == UInt64(Self.startMicros + 100) * 1000)
        #expect(span.events[0].attributes.map(\.key) == ["attempt"])
        // The CHILD_OF reference is the parent; the other is a link.
        #expect(span.links.map(\.spanID) == [Self.bigEndian(0x99)])
        #expect(span.links[0].traceID == Self.bigEndian(0, 7))
    }

    @Test func compactAndBinaryOfTheSameBatchTranslateToTheSameOTLPBytes() throws {
        func bytes(_ writer: ThriftTestWriter) throws -> [UInt8] {
            try writer.bytes.withUnsafeBytes {
                try JaegerTranslator.protobuf(
                    fromThriftBatch: $0,
                    protocol: writer.thriftProtocol == .binary ? .binary : .compact
                ).bytes
            }
        }
        #expect(try bytes(Self.batch(.compact)) == bytes(Self.batch(.binary)))
    }

    @Test func statusFollowsTheCollectorsRules() throws {
        func status(_ tags: [(String, TagValue)]) throws -> (Opentelemetry_Proto_Trace_V1_Status.StatusCode, String) {
            let span = try Self.translate(Self.batch(.compact, tags: tags)).resourceSpans[0].scopeSpans[0].spans[0]
            return (span.status.code, span.status.message)
        }
        #expect(try status([]) == (.unset, ""))
        #expect(try status([("otel.status_code", .string("OK"))]) == (.ok, ""))
        #expect(
            try status([("otel.status_code", .string("error")), ("otel.status_description", .string("d"))]) == (
                .error, "d"
            )
        )
        // The error tag is the truth when it is a true bool; a string "true" is an attribute.
        #expect(try status([("error", .bool(true)), ("otel.status_code", .string("OK"))]) == (.error, ""))
        #expect(try status([("error", .string("true"))]) == (.unset, ""))
        #expect(
            try status([("error", .bool(true)), ("http.status_message", .string("Not Found"))]) == (.error, "Not Found")
        )
        // HTTP codes: 4xx is an error for clients, not servers; 5xx always.
        #expect(try status([("span.kind", .string("server")), ("http.status_code", .long(404))]) == (.unset, ""))
        #expect(try status([("span.kind", .string("client")), ("http.status_code", .long(404))]) == (.error, ""))
        #expect(
            try status([("http.status_code", .string("503")), ("http.status_message", .string("down"))]) == (
                .error, "down"
            )
        )
        #expect(try status([("http.status_code", .long(200))]) == (.unset, ""))
    }

    @Test func kindsAndSixtyFourBitIDs() throws {
        for (value, kind) in [
            ("client", OTLPFixtures.Span.SpanKind.client), ("server", .server), ("producer", .producer),
            ("consumer", .consumer), ("internal", .internal), ("other", .unspecified),
        ] {
            let span = try Self.translate(Self.batch(.binary, tags: [("span.kind", .string(value))]))
                .resourceSpans[0].scopeSpans[0].spans[0]
            #expect(span.kind == kind)
            #expect(span.attributes.isEmpty)
        }
        // A 64-bit trace id (traceIdHigh 0) is widened with zeros first.
        var writer = ThriftTestWriter(.binary)
        writer.structBody { batch in
            batch.structList(2, count: 1) { span, _ in
                span.i64(1, 5)
                span.i64(2, 0)
                span.i64(3, 6)
            }
        }
        let request = try Self.translate(writer)
        #expect(request.resourceSpans[0].resource.attributes.isEmpty)  // no service name
        #expect(request.resourceSpans[0].scopeSpans[0].spans[0].traceID == Self.bigEndian(0, 5))
        #expect(request.resourceSpans[0].scopeSpans[0].spans[0].parentSpanID.isEmpty)
    }

    /// The thrift batch's span as a `PostSpansRequest`, field numbers from `model.proto`.
    static func postSpans() -> [UInt8] {
        func keyValue(_ writer: inout ProtobufWriter, _ field: UInt32, _ key: String, _ value: TagValue) {
            writer.writeMessage(field) { kv in
                kv.writeBytesField(1, key.utf8)
                switch value {
                case .string(let text): kv.writeBytesField(3, text.utf8)
                case .bool(let flag):
                    kv.writeVarintField(2, 1)
                    kv.writeVarintField(4, flag ? 1 : 0)
                case .long(let number):
                    kv.writeVarintField(2, 2)
                    kv.writeVarintField(5, UInt64(bitPattern: number))
                case .double(let number):
                    kv.writeVarintField(2, 3)
                    kv.writeTag(6, .fixed64)
                    kv.writeFixed64(number.bitPattern)
                case .binary(let bytes):
                    kv.writeVarintField(2, 4)
                    kv.writeBytesField(7, bytes)
                }
            }
        }
        func time(_ writer: inout ProtobufWriter, _ field: UInt32, micros: Int64) {
            writer.writeMessage(field) { time in
                time.writeVarintField(1, UInt64(micros / 1_000_000))
                time.writeVarintField(2, UInt64(micros % 1_000_000 * 1000))
            }
        }
        var request = ProtobufWriter()
        request.writeMessage(1) { batch in
            batch.writeMessage(1) { span in
                span.writeBytesField(1, bigEndian(traceHigh, traceLow))
                span.writeBytesField(2, bigEndian(spanID))
                span.writeBytesField(3, "GET /cart".utf8)
                span.writeMessage(4) { reference in
                    reference.writeBytesField(1, bigEndian(traceHigh, traceLow))
                    reference.writeBytesField(2, bigEndian(parentID))
                }
                span.writeMessage(4) { reference in
                    reference.writeBytesField(1, bigEndian(0, 7))
                    reference.writeBytesField(2, bigEndian(0x99))
                    reference.writeVarintField(3, 1)
                }
                span.writeVarintField(5, 1)
                time(&span, 6, micros: startMicros)
                time(&span, 7, micros: 1500)
                for (key, value) in spanTags { keyValue(&span, 8, key, value) }
                span.writeMessage(9) { log in
                    time(&log, 1, micros: startMicros + 100)
                    keyValue(&log, 2, "event", .string("retry"))
                    keyValue(&log, 2, "attempt", .long(2))
                }
            }
            batch.writeMessage(2) { process in
                process.writeBytesField(1, "checkout".utf8)
                keyValue(&process, 2, "host.name", .string("h1"))
                keyValue(&process, 2, "pid", .long(42))
            }
        }
        return request.bytes
    }

    @Test func protobufAndThriftOfTheSameSpanTranslateToTheSameOTLPBytes() throws {
        let fromProtobuf = try Self.postSpans().withUnsafeBytes { try JaegerTranslator.protobuf(fromPostSpans: $0) }
        let fromThrift = try Self.batch(.binary).bytes.withUnsafeBytes {
            try JaegerTranslator.protobuf(fromThriftBatch: $0, protocol: .binary)
        }
        #expect(fromProtobuf.spans == 1)
        #expect(fromProtobuf.bytes == fromThrift.bytes)
    }

    @Test func anAgentDatagramCarriesTheBatchInAnEmitBatchMessage() throws {
        for thriftProtocol in [ThriftTestWriter.ThriftProtocol.binary, .compact] {
            let batch = Self.batch(thriftProtocol).bytes
            // The message envelope, then the arguments struct whose field 1 is the batch.
            var datagram: [UInt8] =
                thriftProtocol == .binary
                ? [0x80, 0x01, 0x00, 0x04, 0, 0, 0, 9] + Array("emitBatch".utf8) + [0, 0, 0, 1, 12, 0, 1]
                : [0x82, 0x81, 0x01, 9] + Array("emitBatch".utf8) + [0x1c]
            datagram += batch + [0]
            let output = try datagram.withUnsafeBytes {
                try JaegerTranslator.protobuf(
                    fromAgentDatagram: $0,
                    protocol: thriftProtocol == .binary ? .binary : .compact
                )
            }
            #expect(output.spans == 1)
            var zipkin = datagram
            zipkin.replaceSubrange(
                (thriftProtocol == .binary ? 8 : 4)..<(thriftProtocol == .binary ? 17 : 13),
                with: Array("emitZipk_".utf8)
            )
            #expect(throws: TranslationError.self) {
                try zipkin.withUnsafeBytes { try JaegerTranslator.protobuf(fromAgentDatagram: $0, protocol: .compact) }
            }
        }
    }

    @Test func hostileThriftIsAnErrorNeverACrash() throws {
        func error(_ bytes: [UInt8], _ thriftProtocol: JaegerTranslator.ThriftProtocol = .binary) -> String? {
            do {
                _ = try bytes.withUnsafeBytes {
                    try JaegerTranslator.protobuf(fromThriftBatch: $0, protocol: thriftProtocol)
                }
                return nil
            } catch {
                return "\(error)"
            }
        }
        let valid = Self.batch(.binary).bytes
        #expect(error(Array(valid.dropLast(5)))?.contains("invalid Jaeger Thrift (binary protocol)") == true)
        #expect(error(valid + [0])?.contains("bytes after the end") == true)
        // A list of 2^30 spans in 8 bytes, a string of 2^31-1 bytes, negative sizes.
        #expect(error([0x0f, 0x00, 0x02, 0x0c, 0x40, 0x00, 0x00, 0x00])?.contains("longer than the") == true)
        #expect(error([0x0b, 0x00, 0x09, 0x7f, 0xff, 0xff, 0xff])?.contains("past the end") == true)
        #expect(error([0x0f, 0x00, 0x09, 0x0c, 0xff, 0xff, 0xff, 0xff])?.contains("negative list size") == true)
        // Unknown fields nested 100 deep are refused past 64 levels.
        let deep = (0..<100).flatMap { _ in [UInt8(0x0c), 0x00, 0x63] } + [UInt8](repeating: 0, count: 101)
        #expect(error(deep)?.contains("deeper than 64") == true)
        // A span without ids.
        var noIDs = ThriftTestWriter(.binary)
        noIDs.structBody { $0.structList(2, count: 1) { span, _ in span.string(5, "x") } }
        #expect(error(noIDs.bytes)?.contains("has no traceIdLow") == true)
        // Random mutations of valid batches, in both protocols, and of the protobuf request.
        var random = SeededRandom(seed: 15)
        let inputs: [([UInt8], Int)] = [(valid, 0), (Self.batch(.compact).bytes, 1), (Self.postSpans(), 2)]
        for round in 0..<30_000 {
            let (original, kind) = inputs[round % inputs.count]
            let bytes = random.mutated(original, edits: 1 + round % 4)
            let output = try? bytes.withUnsafeBytes { input in
                switch kind {
                case 0: try JaegerTranslator.protobuf(fromThriftBatch: input, protocol: .binary)
                case 1: try JaegerTranslator.protobuf(fromThriftBatch: input, protocol: .compact)
                default: try JaegerTranslator.protobuf(fromPostSpans: input)
                }
            }
            // Whatever was accepted decodes as a span batch (or is refused by it), never crashes.
            if let output { _ = try? SpanBatch(protobuf: output.bytes) }
        }
    }

    @Test func whatATranslationHoldsIsReservedAndTheOutputBoundHolds() throws {
        // 20,000 of the smallest compact spans (5 bytes: two ids and a stop) hold ~18 times their bytes.
        var writer = ThriftTestWriter(.compact)
        writer.structBody { batch in
            batch.structList(2, count: 20_000) { span, index in
                span.i64(1, 1)
                span.i64(3, Int64(index % 60 + 1))
            }
        }
        var granted = 0
        let output = try writer.bytes.withUnsafeBytes { input in
            try JaegerTranslator.protobuf(fromThriftBatch: input, protocol: .compact) { bytes in
                granted += bytes
                return true
            }
        }
        #expect(output.spans == 20_000)
        #expect(granted >= 20_000 * MemoryLayout<JaegerBatch.Span>.stride + output.bytes.count)
        var budget = 200_000
        #expect(throws: TranslationError.self) {
            try writer.bytes.withUnsafeBytes { input in
                try JaegerTranslator.protobuf(fromThriftBatch: input, protocol: .compact) { bytes in
                    budget -= bytes
                    return budget >= 0
                }
            }
        }
        // The output bound covers a span with every field.
        let full = Self.batch(.binary).bytes
        try full.withUnsafeBytes { input in
            var memory = TranslationMemory(reserve: { _ in true })
            var reader = JaegerThriftReader(bytes: input, protocol: .binary)
            try reader.readBatch(memory: &memory)
            let writer = JaegerOTLPWriter(input: input, batch: reader.batch)
            #expect(writer.maximumBytes >= writer.request(capacity: 0).count)
        }
    }
}
