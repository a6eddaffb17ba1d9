/// Translates Jaeger spans — a Thrift `Batch` (collector `POST /api/traces`, or an agent's `emitBatch` datagram) or a
/// protobuf `PostSpansRequest` (gRPC `PostSpans`) — into the protobuf encoding of an OTLP
/// `ExportTraceServiceRequest`, so they take the same ``SpanBatch`` path, and make the same series, as OTLP spans.
///
/// The mapping is the OpenTelemetry Collector's Jaeger translator's:
/// - one resource per process (a protobuf span's own process, else the batch's): `serviceName` → `service.name`,
///   process tags → resource attributes of their types; one scope per resource;
/// - trace ids (Thrift's `traceIdHigh`/`traceIdLow`) are 128 bits; the parent is Thrift's `parentSpanId`, else the
///   first reference into the same trace; other references are links;
/// - `span.kind` (`client`, `server`, `producer`, `consumer`, `internal`) is the kind; `w3c.tracestate` the trace
///   state; status from a true `error` tag, `otel.status_code` and `otel.status_description`, else from
///   `http.status_code` (see ``JaegerOTLPWriter``); the tags these become are not attributes;
/// - every other tag is an attribute of its type (string, bool, int, double, bytes); logs are events, named by their
///   `event` field, with the other fields as attributes; times in microseconds (Thrift) become nanoseconds;
/// - every span carries a status field, empty when unset, as Tempo re-encodes spans.
///
/// Strings are not copied: the read spans hold ranges into the request. What the translation holds is reported to
/// `reserve` as it grows (see ``ZipkinTranslator``).
public enum JaegerTranslator {
    /// Which Thrift protocol an input is in: the collector's HTTP endpoint takes binary; the agent's UDP ports take
    /// compact (6831) and binary (6832).
    public enum ThriftProtocol: Sendable {
        case binary, compact

        var reader: ThriftReader.ThriftProtocol { self == .binary ? .binary : .compact }
    }

    /// The OTLP encoding of the Thrift `Batch` in `thrift` (a collector request body), and its span count.
    public static func protobuf(
        fromThriftBatch thrift: UnsafeRawBufferPointer,
        protocol thriftProtocol: ThriftProtocol,
        reserve: (Int) -> Bool = { _ in true }
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try thriftTranslation(thrift, thriftProtocol, reserve: reserve) {
            (reader, memory) throws(ThriftReader.Failure) in
            try reader.readBatch(memory: &memory)
        }
    }

    /// The OTLP encoding of the batch in an agent's `emitBatch` datagram, and its span count.
    public static func protobuf(
        fromAgentDatagram datagram: UnsafeRawBufferPointer,
        protocol thriftProtocol: ThriftProtocol,
        reserve: (Int) -> Bool = { _ in true }
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try thriftTranslation(datagram, thriftProtocol, reserve: reserve) {
            (reader, memory) throws(ThriftReader.Failure) in
            try reader.readAgentMessage(in: datagram, memory: &memory)
        }
    }

    /// The OTLP encoding of the `jaeger.api_v2.PostSpansRequest` in `protobuf`, and its span count.
    public static func protobuf(
        fromPostSpans protobuf: UnsafeRawBufferPointer,
        reserve: (Int) -> Bool = { _ in true }
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try TranslationError.checkSize(protobuf)
        return try withoutActuallyEscaping(reserve) { (reserve) throws(TranslationError) in
            var memory = TranslationMemory(reserve: reserve)
            var reader = JaegerProtobufReader(bytes: protobuf)
            do throws(WireError) {
                try reader.readRequest(memory: &memory)
            } catch {
                if let refused = memory.refusedBytes { throw TranslationError.refused(refused) }
                throw TranslationError(description: "invalid Jaeger PostSpansRequest: \(error)")
            }
            return try write(reader.batch, input: protobuf, memory: &memory)
        }
    }

    private static func thriftTranslation(
        _ input: UnsafeRawBufferPointer,
        _ thriftProtocol: ThriftProtocol,
        reserve: (Int) -> Bool,
        read: (inout JaegerThriftReader, inout TranslationMemory) throws(ThriftReader.Failure) -> Void
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try TranslationError.checkSize(input)
        return try withoutActuallyEscaping(reserve) { (reserve) throws(TranslationError) in
            var memory = TranslationMemory(reserve: reserve)
            var reader = JaegerThriftReader(bytes: input, protocol: thriftProtocol.reader)
            do throws(ThriftReader.Failure) {
                try read(&reader, &memory)
            } catch {
                if let refused = memory.refusedBytes { throw TranslationError.refused(refused) }
                let name = thriftProtocol == .binary ? "binary" : "compact"
                throw TranslationError(description: "invalid Jaeger Thrift (\(name) protocol): \(error.description)")
            }
            return try write(reader.batch, input: input, memory: &memory)
        }
    }

    private static func write(
        _ batch: JaegerBatch,
        input: UnsafeRawBufferPointer,
        memory: inout TranslationMemory
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        let writer = JaegerOTLPWriter(input: input, batch: batch)
        let capacity = writer.maximumBytes
        let grouping = IndexGroups.heldBytes(keyCount: batch.processes.count, elementCount: batch.spans.count)
        guard memory.cover(batch.heldBytes + capacity + grouping) else {
            throw TranslationError.refused(memory.refusedBytes ?? capacity)
        }
        return (writer.request(capacity: capacity), batch.spans.count)
    }
}
