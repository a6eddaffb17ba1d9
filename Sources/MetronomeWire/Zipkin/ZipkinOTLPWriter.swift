/// Writes read Zipkin spans as an OTLP `ExportTraceServiceRequest` (see ``ZipkinTranslator`` for the mapping).
///
/// Field numbers: `ExportTraceServiceRequest.resource_spans = 1`; `ResourceSpans.resource = 1, scope_spans = 2`;
/// `Resource.attributes = 1`; `ScopeSpans.scope = 1, spans = 2`; `Span.trace_id = 1, span_id = 2, trace_state = 3,
/// parent_span_id = 4, name = 5, kind = 6, start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64),
/// attributes = 9, events = 11, status = 15`; `Event.time_unix_nano = 1 (fixed64), name = 2`;
/// `Status.message = 2, code = 3`; `KeyValue.key = 1, value = 2`; `AnyValue.string_value = 1, int_value = 3`.
struct ZipkinOTLPWriter {
    /// The reader's unescaped text, which the spans' ranges point into.
    let text: [UInt8]

    /// The request holding `spans`.
    func request(_ spans: [ZipkinSpan], capacity: Int) -> [UInt8] {
        var writer = ProtobufWriter(capacity: capacity)
        // One resource per local service name, in order of first appearance.
        var keys: [ArraySlice<UInt8>: Int] = [:]
        var groups = IndexGroups(keyCount: spans.count, elementCount: spans.count)
        var previous: (service: ArraySlice<UInt8>, key: Int)?
        for (index, span) in spans.enumerated() {
            let service = bytes(span.local.serviceName)
            // Reporters send a service's spans together: the dictionary is consulted only when the service changes.
            if let previous, previous.service == service {
                groups.add(index, key: previous.key)
                continue
            }
            let key = keys[service] ?? keys.count
            if key == keys.count { keys[service] = key }
            previous = (service, key)
            groups.add(index, key: key)
        }
        for key in groups.keys {
            let service = spans[groups.firstMember(of: key)].local.serviceName
            writer.writeMessage(1) { resourceSpans in
                resourceSpans.writeMessage(1) { resource in
                    if !service.isEmpty { Self.attribute(&resource, 1, key: "service.name", bytes(service)) }
                }
                resourceSpans.writeMessage(2) { scopeSpans in
                    scopeSpans.writeMessage(1) { _ in }
                    for index in groups.members(of: key) { write(spans[index], to: &scopeSpans) }
                }
            }
        }
        return writer.bytes
    }

    /// At least the bytes ``request(_:capacity:)`` writes for `spans`: every text range is written at most once, and
    /// each length-delimited field's tag and length take at most 6 bytes.
    func maximumBytes(of spans: [ZipkinSpan]) -> Int {
        // A resource: its spans, resource, attribute (key, value, string) and scope headers, and "service.name".
        let resource = 7 * 6 + 12
        // A span's header, ids, trace state and name headers, kind, times and status.
        let span = 6 + 18 + 10 + 6 + 10 + 6 + 2 + 18 + 14
        // An attribute's four headers, an event's two with its time, a port attribute with its key and varint.
        let attribute = 24
        let event = 12 + 9
        let port = attribute + 18 + 5
        var total = text.count
        var previousService: ArraySlice<UInt8>?
        for read in spans {
            let service = bytes(read.local.serviceName)
            // Spans of one service in a row share a resource; a bound need not know which services recur.
            if previousService != service { total += resource }
            previousService = service
            total += span + attribute * read.tags.count + event * read.annotations.count
            for endpoint in [read.local, read.remote] {
                if !endpoint.serviceName.isEmpty { total += attribute + 12 }
                if !endpoint.address.isEmpty { total += attribute + 21 }
                if endpoint.port > 0 { total += port }
            }
        }
        return total
    }

    private func write(_ span: ZipkinSpan, to writer: inout ProtobufWriter) {
        var status: (code: UInt64, message: TextRange) = (0, .none)
        var kind = span.kind
        var traceState = TextRange.none
        var errorTag: TextRange?
        var statusDescription: TextRange?
        // The tags that are not attributes: found by comparing bytes in place, nothing copied.
        for tag in span.tags {
            if matches(tag.key, "otel.status_code") {
                status.code = statusCode(tag.value)
            } else if matches(tag.key, "otel.status_description") {
                statusDescription = tag.value
            } else if matches(tag.key, "error") {
                errorTag = tag.value
            } else if matches(tag.key, "w3c.tracestate") {
                traceState = tag.value
            } else if matches(tag.key, "span.kind") && kind == 0 {
                if matches(tag.value, "internal") { kind = 1 }
            }
        }
        if let errorTag {
            status.code = 2
            if !matches(errorTag, "true") { status.message = errorTag }
        }
        if status.code != 0, let statusDescription { status.message = statusDescription }
        let start = span.timestampMicros &* 1000
        writer.writeMessage(2) { out in
            out.writeID(1, high: span.traceHigh, span.traceLow)
            // A shared server span: its own id, and the client's as its parent.
            let sharedServer = span.shared && span.kind == 2
            out.writeID(2, sharedServer ? ZipkinSpan.sharedServerID(span.spanID) : span.spanID)
            if !traceState.isEmpty { out.writeBytesField(3, bytes(traceState)) }
            if sharedServer {
                out.writeID(4, span.spanID)
            } else if span.parentID != 0 && span.parentID != span.spanID {
                out.writeID(4, span.parentID)
            }
            if !span.name.isEmpty { out.writeBytesField(5, bytes(span.name)) }
            if kind != 0 { out.writeVarintField(6, UInt64(kind)) }
            // Zero times are left out, as protobuf encoders do (a Zipkin span may leave its timestamp out).
            let end = start &+ span.durationMicros &* 1000
            if start != 0 {
                out.writeTag(7, .fixed64)
                out.writeFixed64(start)
            }
            if end != 0 {
                out.writeTag(8, .fixed64)
                out.writeFixed64(end)
            }
            for tag in span.tags where !isReserved(tag.key, in: span) {
                Self.attribute(&out, 9, key: bytes(tag.key), bytes(tag.value))
            }
            Self.endpointAttributes(&out, span.remote, remote: true, text: self)
            Self.endpointAttributes(&out, span.local, remote: false, text: self)
            for annotation in span.annotations {
                out.writeMessage(11) { event in
                    event.writeTag(1, .fixed64)
                    event.writeFixed64(annotation.timestampMicros &* 1000)
                    if !annotation.value.isEmpty { event.writeBytesField(2, bytes(annotation.value)) }
                }
            }
            // Always present, empty when unset: Tempo re-encodes every span with its status.
            out.writeMessage(15) { message in
                if !status.message.isEmpty { message.writeBytesField(2, bytes(status.message)) }
                if status.code != 0 { message.writeVarintField(3, status.code) }
            }
        }
    }

    private static func endpointAttributes(
        _ writer: inout ProtobufWriter,
        _ endpoint: ZipkinSpan.Endpoint,
        remote: Bool,
        text: ZipkinOTLPWriter
    ) {
        if remote && !endpoint.serviceName.isEmpty {
            attribute(&writer, 9, key: "peer.service", text.bytes(endpoint.serviceName))
        }
        if !endpoint.address.isEmpty {
            attribute(
                &writer,
                9,
                key: remote ? "network.peer.address" : "network.local.address",
                text.bytes(endpoint.address)
            )
        }
        if endpoint.port > 0 {
            writer.writeMessage(9) { keyValue in
                keyValue.writeBytesField(1, (remote ? "network.peer.port" : "network.local.port").utf8)
                keyValue.writeMessage(2) { $0.writeVarintField(3, UInt64(endpoint.port)) }
            }
        }
    }

    private static func attribute(
        _ writer: inout ProtobufWriter,
        _ field: UInt32,
        key: some Collection<UInt8>,
        _ value: some Collection<UInt8>
    ) {
        writer.writeMessage(field) { keyValue in
            keyValue.writeBytesField(1, key)
            keyValue.writeMessage(2) { $0.writeBytesField(1, value) }
        }
    }

    private static func attribute(
        _ writer: inout ProtobufWriter,
        _ field: UInt32,
        key: String,
        _ value: some Collection<UInt8>
    ) {
        attribute(&writer, field, key: key.utf8, value)
    }

    /// OTLP `StatusCode` of an `otel.status_code` tag: the specification's `OK` and `ERROR`, and the proto names.
    private func statusCode(_ value: TextRange) -> UInt64 {
        if matches(value, "OK") || matches(value, "STATUS_CODE_OK") || matches(value, "Ok") { return 1 }
        if matches(value, "ERROR") || matches(value, "STATUS_CODE_ERROR") || matches(value, "Error") { return 2 }
        return 0
    }

    /// Whether a tag is one the span's fields take (status, trace state, and the kind when Zipkin gave none), not an
    /// attribute.
    private func isReserved(_ key: TextRange, in span: ZipkinSpan) -> Bool {
        matches(key, "otel.status_code") || matches(key, "otel.status_description") || matches(key, "error")
            || matches(key, "w3c.tracestate") || (span.kind == 0 && matches(key, "span.kind"))
    }

    /// Whether the text at `range` is `literal`.
    private func matches(_ range: TextRange, _ literal: StaticString) -> Bool {
        text[range.range].isLiteral(literal)
    }

    func bytes(_ range: TextRange) -> ArraySlice<UInt8> {
        text[range.range]
    }
}
