/// Writes a read ``JaegerBatch`` as an OTLP `ExportTraceServiceRequest` (see ``JaegerTranslator`` for the mapping).
///
/// Field numbers: `ExportTraceServiceRequest.resource_spans = 1`; `ResourceSpans.resource = 1, scope_spans = 2`;
/// `Resource.attributes = 1`; `ScopeSpans.scope = 1, spans = 2`; `Span.trace_id = 1, span_id = 2, trace_state = 3,
/// parent_span_id = 4, name = 5, kind = 6, start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64),
/// attributes = 9, events = 11, links = 13, status = 15`; `Event.time_unix_nano = 1, name = 2, attributes = 3`;
/// `Link.trace_id = 1, span_id = 2`; `Status.message = 2, code = 3`; `KeyValue.key = 1, value = 2`;
/// `AnyValue.string_value = 1, bool_value = 2, int_value = 3, double_value = 4 (fixed64), bytes_value = 7`.
struct JaegerOTLPWriter {
    /// The request's bytes, which the batch's text ranges point into.
    let input: UnsafeRawBufferPointer
    let batch: JaegerBatch

    /// At least the bytes ``request(capacity:)`` writes: every text range of the input is written at most once, and
    /// each length-delimited field's tag and length take at most 6 bytes.
    var maximumBytes: Int {
        let span = 6 + 18 + 10 + 6 + 10 + 6 + 2 + 18 + 14
        let attribute = 24 + 10
        let resource = 7 * 6 + 12
        let event = 12 + 9
        let link = 6 + 18 + 10
        return input.count + batch.spans.count * span + batch.tags.count * attribute + batch.logs.count * event
            + batch.references.count * link + batch.processes.count * resource
    }

    /// The request holding the batch's spans: one resource per process, in order of first appearance.
    func request(capacity: Int) -> [UInt8] {
        var writer = ProtobufWriter(capacity: capacity)
        var groups = IndexGroups(keyCount: batch.processes.count, elementCount: batch.spans.count)
        for (index, span) in batch.spans.enumerated() { groups.add(index, key: Int(span.process)) }
        for process in groups.keys {
            writer.writeMessage(1) { resourceSpans in
                resourceSpans.writeMessage(1) { resource in
                    let process = batch.processes[process]
                    if !process.serviceName.isEmpty {
                        resource.writeMessage(1) { keyValue in
                            keyValue.writeBytesField(1, "service.name".utf8)
                            keyValue.writeMessage(2) { $0.writeBytesField(1, text(process.serviceName)) }
                        }
                    }
                    for tag in batch.tags[Self.indexes(process.tags)] { attribute(tag, field: 1, to: &resource) }
                }
                resourceSpans.writeMessage(2) { scopeSpans in
                    scopeSpans.writeMessage(1) { _ in }
                    for index in groups.members(of: process) { write(batch.spans[index], to: &scopeSpans) }
                }
            }
        }
        return writer.bytes
    }

    /// The tags a span's fields take rather than its attributes, and what they say.
    private struct SpanFields {
        var kind: UInt64 = 0
        var traceState = TextRange.none
        var status: (code: UInt64, message: TextRange) = (0, .none)
        /// The tags not written as attributes (indexes into the batch's tags).
        var consumed = Consumed()
    }

    /// At most one tag each of `span.kind`, `w3c.tracestate`, `error`, `otel.status_code`, `otel.status_description`:
    /// kept inline, so a span allocates nothing.
    private struct Consumed {
        private var indexes: (Int, Int, Int, Int, Int) = (-1, -1, -1, -1, -1)
        private var count = 0

        mutating func append(_ index: Int) {
            switch count {
            case 0: indexes.0 = index
            case 1: indexes.1 = index
            case 2: indexes.2 = index
            case 3: indexes.3 = index
            default: indexes.4 = index
            }
            count += 1
        }

        func contains(_ index: Int) -> Bool {
            index == indexes.0 || index == indexes.1 || index == indexes.2 || index == indexes.3 || index == indexes.4
        }
    }

    private func write(_ span: JaegerBatch.Span, to writer: inout ProtobufWriter) {
        let fields = spanFields(span)
        let parent = parentID(of: span)
        writer.writeMessage(2) { out in
            out.writeID(1, high: span.traceHigh, span.traceLow)
            out.writeID(2, span.spanID)
            if !fields.traceState.isEmpty { out.writeBytesField(3, text(fields.traceState)) }
            if parent != 0 { out.writeID(4, parent) }
            if !span.name.isEmpty { out.writeBytesField(5, text(span.name)) }
            if fields.kind != 0 { out.writeVarintField(6, fields.kind) }
            let end = span.startNanos &+ span.durationNanos
            if span.startNanos != 0 {
                out.writeTag(7, .fixed64)
                out.writeFixed64(span.startNanos)
            }
            if end != 0 {
                out.writeTag(8, .fixed64)
                out.writeFixed64(end)
            }
            for index in Self.indexes(span.tags) where !fields.consumed.contains(index) {
                attribute(batch.tags[index], field: 9, to: &out)
            }
            for log in batch.logs[Self.indexes(span.logs)] { event(log, to: &out) }
            for reference in batch.references[Self.indexes(span.references)]
            where !(reference.type == 0 && reference.spanID == parent && sameTrace(reference, span)) {
                out.writeMessage(13) { link in
                    link.writeID(1, high: reference.traceHigh, reference.traceLow)
                    link.writeID(2, reference.spanID)
                }
            }
            // Always present, empty when unset: Tempo re-encodes every span with its status.
            out.writeMessage(15) { status in
                if !fields.status.message.isEmpty { status.writeBytesField(2, text(fields.status.message)) }
                if fields.status.code != 0 { status.writeVarintField(3, fields.status.code) }
            }
        }
    }

    /// The span's parent: Thrift's `parentSpanId`, else the first reference into the same trace (as Jaeger's model
    /// finds it).
    private func parentID(of span: JaegerBatch.Span) -> UInt64 {
        if span.parentID != 0 { return span.parentID }
        return batch.references[Self.indexes(span.references)].first { sameTrace($0, span) }?.spanID ?? 0
    }

    private func sameTrace(_ reference: JaegerBatch.Reference, _ span: JaegerBatch.Span) -> Bool {
        reference.traceHigh == span.traceHigh && reference.traceLow == span.traceLow
    }

    /// Kind from `span.kind`; trace state from `w3c.tracestate`; status as the Collector's Jaeger translator sets
    /// it: a bool `error` tag that is true makes an error (message from `otel.status_description`, else
    /// `http.status_message`); otherwise `otel.status_code` `OK`/`ERROR` (any case) with `otel.status_description`;
    /// otherwise `http.status_code`: 4xx is an error on clients (left unset on servers), 1xx–3xx unset, anything else
    /// an error.
    private func spanFields(_ span: JaegerBatch.Span) -> SpanFields {
        var fields = SpanFields()
        var kind: Int?
        var traceState: Int?
        var error: Int?
        var statusCode: Int?
        var description: Int?
        var httpCode: Int?
        var httpMessage: Int?
        for index in Self.indexes(span.tags) {
            let tag = batch.tags[index]
            if matches(tag.key, "span.kind") {
                kind = index
            } else if matches(tag.key, "w3c.tracestate") {
                traceState = index
            } else if matches(tag.key, "error") {
                if tag.type == .bool && tag.bits == 1 { error = index }
            } else if matches(tag.key, "otel.status_code") {
                statusCode = index
            } else if matches(tag.key, "otel.status_description") {
                description = index
            } else if matches(tag.key, "http.status_code") {
                httpCode = index
            } else if matches(tag.key, "http.status_message") {
                httpMessage = index
            }
        }
        if let kind {
            fields.kind = Self.kind(text(batch.tags[kind].text))
            fields.consumed.append(kind)
        }
        if let traceState {
            fields.traceState = batch.tags[traceState].text
            fields.consumed.append(traceState)
        }
        if let statusCode { fields.consumed.append(statusCode) }
        if let error {
            fields.status.code = 2
            fields.consumed.append(error)
            if let description {
                fields.status.message = batch.tags[description].text
                fields.consumed.append(description)
            } else if let httpMessage {
                fields.status.message = batch.tags[httpMessage].text
            }
        } else if let statusCode {
            let value = text(batch.tags[statusCode].text)
            if value.elementsEqual("OK".utf8, by: Self.caseInsensitive) { fields.status.code = 1 }
            if value.elementsEqual("ERROR".utf8, by: Self.caseInsensitive) { fields.status.code = 2 }
            if let description {
                fields.status.message = batch.tags[description].text
                fields.consumed.append(description)
            }
        } else if let httpCode, let code = httpStatus(batch.tags[httpCode]) {
            let isError =
                switch code {
                case 100..<400: false
                case 400..<500: fields.kind != 2
                default: true
                }
            if isError {
                fields.status.code = 2
                if let httpMessage { fields.status.message = batch.tags[httpMessage].text }
            }
        }
        return fields
    }

    /// An `http.status_code` tag's number: a long, or a string of digits.
    private func httpStatus(_ tag: JaegerBatch.Tag) -> Int? {
        switch tag.type {
        case .long: return Int(truncatingIfNeeded: Int64(bitPattern: tag.bits))
        case .string: return Int(String(decoding: text(tag.text), as: UTF8.self))
        default: return nil
        }
    }

    private static func caseInsensitive(_ left: UInt8, _ right: UInt8) -> Bool {
        (left | 0x20) == (right | 0x20)
    }

    /// The OTLP kind of a `span.kind` value.
    private static func kind(_ value: Slice<UnsafeRawBufferPointer>) -> UInt64 {
        if value.elementsEqual("client".utf8) { return 3 }
        if value.elementsEqual("server".utf8) { return 2 }
        if value.elementsEqual("producer".utf8) { return 4 }
        if value.elementsEqual("consumer".utf8) { return 5 }
        if value.elementsEqual("internal".utf8) { return 1 }
        return 0
    }

    /// A log as an event: its `event` field (a string) names it, the other fields are its attributes.
    private func event(_ log: JaegerBatch.Log, to writer: inout ProtobufWriter) {
        let fields = batch.tags[Self.indexes(log.fields)]
        let name = fields.firstIndex { matches($0.key, "event") && $0.type == .string }
        writer.writeMessage(11) { event in
            event.writeTag(1, .fixed64)
            event.writeFixed64(log.timeNanos)
            if let name, !fields[name].text.isEmpty { event.writeBytesField(2, text(fields[name].text)) }
            for index in fields.indices where index != name { attribute(fields[index], field: 3, to: &event) }
        }
    }

    /// A tag as a `KeyValue` of its type.
    private func attribute(_ tag: JaegerBatch.Tag, field: UInt32, to writer: inout ProtobufWriter) {
        writer.writeMessage(field) { keyValue in
            keyValue.writeBytesField(1, text(tag.key))
            keyValue.writeMessage(2) { value in
                switch tag.type {
                case .string: value.writeBytesField(1, text(tag.text))
                case .bool: value.writeVarintField(2, tag.bits)
                case .long: value.writeVarintField(3, tag.bits)
                case .double:
                    value.writeTag(4, .fixed64)
                    value.writeFixed64(tag.bits)
                case .binary: value.writeBytesField(7, text(tag.text))
                }
            }
        }
    }

    private static func indexes(_ range: Range<UInt32>) -> Range<Int> { Int(range.lowerBound)..<Int(range.upperBound) }

    private func text(_ range: TextRange) -> Slice<UnsafeRawBufferPointer> { input[range.range] }

    private func matches(_ range: TextRange, _ literal: StaticString) -> Bool {
        input[range.range].isLiteral(literal)
    }
}
