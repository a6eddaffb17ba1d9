import MetronomeWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Phase 1 of a span-metrics push: finds every span's label values — as references into the request bytes, or into
/// the batch's scratch buffer for constants, stringified and joined values — and hashes them into the series hash.
///
/// Values that depend only on the resource (`service`, dimensions found among resource attributes) are resolved once
/// per resource (ARCHITECTURE.md, hot-path rule 4); span attributes are searched only for dimensions the resource
/// did not have.
struct SpanLabelLocator: Sendable {
    let columns: [SpanMetricsColumn]
    private let maxValueLength: Int
    /// Span kind and status code names: the start of every batch's scratch buffer.
    let constantBytes: [UInt8]
    private let kindValues: [LocatedValue]
    private let statusValues: [LocatedValue]
    /// `__cardinality_overflow__`, the value of a label over its cardinality limit.
    private let overflowValue: LocatedValue
    /// Attribute keys of `attribute` and `mapping` columns; `keyRanges[column]` indexes into it.
    private let keys: StaticBytes
    private let keyRanges: [Range<Int>]
    private let joins: StaticBytes

    init(columns: [SpanMetricsColumn], maxValueLength: Int) {
        self.columns = columns
        self.maxValueLength = maxValueLength
        var bytes: [UInt8] = []
        func constant(_ name: String) -> LocatedValue {
            let ref = ValueRef(inScratch: true, offset: UInt32(bytes.count), count: UInt32(name.utf8.count))
            bytes.append(contentsOf: name.utf8)
            return LocatedValue(ref: ref, hash: Array(name.utf8).withUnsafeBytes { SeriesHash.hash($0) })
        }
        kindValues = OTLPEnumNames.spanKinds.map(constant)
        statusValues = OTLPEnumNames.statusCodes.map(constant)
        overflowValue = constant(CardinalityGuard.overflowValue)
        constantBytes = bytes

        var keyStrings: [[UInt8]] = []
        var keyRanges: [Range<Int>] = []
        var joins: [[UInt8]] = []
        for column in columns {
            let start = keyStrings.count
            switch column.source {
            case .attribute(let key): keyStrings.append(key)
            case .mapping(let sources, _): keyStrings += sources
            default: break
            }
            keyRanges.append(start..<keyStrings.count)
            if case .mapping(_, let join) = column.source { joins.append(join) } else { joins.append([]) }
        }
        self.keys = StaticBytes(keyStrings.map { String(decoding: $0, as: UTF8.self) })
        self.keyRanges = keyRanges
        self.joins = StaticBytes(joins.map { String(decoding: $0, as: UTF8.self) })
    }

    /// A located value and its hash.
    struct LocatedValue {
        var ref: ValueRef
        var hash: UInt64

        static let absent = LocatedValue(
            ref: .absent,
            hash: SeriesHash.hash(UnsafeRawBufferPointer(start: nil, count: 0))
        )
    }

    /// Resolves the resource-level values of every column into `work.resourceValues` (absent where the span decides).
    func beginResource(
        _ resource: ResourceRecord,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        work: inout BatchWork
    ) {
        work.resourceValues.removeAll(keepingCapacity: true)
        work.resourceMappingAttributes.removeAll(keepingCapacity: true)
        let attributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
        for (index, column) in columns.enumerated() {
            var value: LocatedValue? = nil
            switch column.source {
            case .service:
                let found = find(key: ServiceKey.bytes, in: attributes, batch: batch, bytes: bytes)
                value =
                    found.map { self.value(of: batch.attributes[$0], bytes: bytes, scratch: &work.scratch) } ?? .absent
            case .attribute:
                if let found = find(key: keys[keyRanges[index].lowerBound], in: attributes, batch: batch, bytes: bytes)
                {
                    value = self.value(of: batch.attributes[found], bytes: bytes, scratch: &work.scratch)
                }
            case .job, .instance:
                let identity = ResourceIdentity(resource, batch: batch, bytes: bytes)
                let text = column.source == .job ? identity.job : identity.instance
                if text.isEmpty {
                    value = .absent
                } else {
                    let start = work.scratch.count
                    work.scratch.append(contentsOf: text.utf8)
                    value = scratchValue(from: start, &work.scratch)
                }
            case .mapping:
                for key in keyRanges[index] {
                    work.resourceMappingAttributes.append(
                        find(key: keys[key], in: attributes, batch: batch, bytes: bytes).map(Int32.init) ?? -1
                    )
                }
            default: break
            }
            work.resourceValues.append(value)
        }
    }

    /// Appends the span's label values to `work.refs` and returns the series hash.
    @inline(__always)
    func locate(_ span: SpanRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer, work: inout BatchWork) -> UInt64 {
        var hash = SeriesHash.seed
        var mappingKey = 0
        for index in columns.indices {
            let value = self.value(ofColumn: index, span, batch: batch, bytes: bytes, mappingKey: &mappingKey, &work)
            hash = label(value, column: index, hash: hash, work: &work)
        }
        return hash
    }

    /// Appends the span's label values to `work.deferredValues`, to be sanitized before they become labels.
    @inline(__always)
    func locateValues(_ span: SpanRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer, work: inout BatchWork) {
        var mappingKey = 0
        for index in columns.indices {
            let value = self.value(ofColumn: index, span, batch: batch, bytes: bytes, mappingKey: &mappingKey, &work)
            work.deferredValues.append(value)
        }
    }

    /// Makes `value` the label of `column` (or `__cardinality_overflow__` while that label is over its limit),
    /// appending its reference to `work.refs`, and returns `hash` with it folded in.
    @inline(__always)
    func label(_ value: LocatedValue, column: Int, hash: UInt64, work: inout BatchWork) -> UInt64 {
        if work.tracksValueHashes { work.valueHashes.append(value.hash) }
        let labelValue: LocatedValue
        if !work.overLimit.isEmpty && work.overLimit[column] && value.ref.count > 0 {
            labelValue = overflowValue
            work.labelValuesLimited[column] += 1
        } else {
            labelValue = value
        }
        work.refs.append(labelValue.ref)
        return SeriesHash.combine(hash, labelValue.hash, column: column)
    }

    /// The value of one column for `span`.
    @inline(__always)
    private func value(
        ofColumn index: Int,
        _ span: SpanRecord,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        mappingKey: inout Int,
        _ work: inout BatchWork
    ) -> LocatedValue {
        if let resourceValue = work.resourceValues[index] { return resourceValue }
        switch columns[index].source {
        case .spanName: return located(span.name, bytes)
        case .statusMessage: return located(span.statusMessage, bytes)
        case .spanKind: return enumValue(span.kind, kindValues, &work.scratch)
        case .statusCode: return enumValue(span.statusCode, statusValues, &work.scratch)
        case .attribute:
            let found = find(key: keys[keyRanges[index].lowerBound], in: span.attributes, batch: batch, bytes: bytes)
            return found.map { self.value(of: batch.attributes[$0], bytes: bytes, scratch: &work.scratch) } ?? .absent
        case .mapping:
            defer { mappingKey += keyRanges[index].count }
            return joined(column: index, firstKey: mappingKey, span: span, batch: batch, bytes: bytes, work: &work)
        case .service, .job, .instance: return .absent  // always resolved per resource
        }
    }

    /// A mapping's value: the present, non-empty source values joined (spec §2.4); absent when none is present.
    private func joined(
        column: Int,
        firstKey: Int,
        span: SpanRecord,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        work: inout BatchWork
    ) -> LocatedValue {
        let start = work.scratch.count
        var parts = 0
        for (position, key) in keyRanges[column].enumerated() {
            let resourceAttribute = Int(work.resourceMappingAttributes[firstKey + position])
            let attribute =
                resourceAttribute >= 0
                ? resourceAttribute : find(key: keys[key], in: span.attributes, batch: batch, bytes: bytes)
            guard let attribute else { continue }
            let before = work.scratch.count
            if parts > 0 { work.scratch.append(contentsOf: joins[column]) }
            let valueStart = work.scratch.count
            AttributeValueFormatter.append(batch.attributes[attribute], bytes: bytes, to: &work.scratch)
            if work.scratch.count == valueStart {
                work.scratch.removeLast(work.scratch.count - before)  // empty values leave no separator behind
            } else {
                parts += 1
            }
        }
        return parts == 0 ? .absent : scratchValue(from: start, &work.scratch)
    }

    /// The index of the first attribute in `range` whose key is `key`.
    @inline(__always)
    private func find(
        key: UnsafeRawBufferPointer,
        in range: Range<Int>,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer
    ) -> Int? {
        batch.firstAttribute(key, in: range, bytes: bytes)
    }

    /// An attribute's label value: a reference into the request for strings, stringified into scratch otherwise.
    private func value(of attribute: AttributeRecord, bytes: UnsafeRawBufferPointer, scratch: inout [UInt8])
        -> LocatedValue
    {
        if attribute.type == .string { return located(attribute.value, bytes) }
        let start = scratch.count
        AttributeValueFormatter.append(attribute, bytes: bytes, to: &scratch)
        return scratchValue(from: start, &scratch)
    }

    @inline(__always)
    private func located(_ range: ByteRange, _ bytes: UnsafeRawBufferPointer) -> LocatedValue {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range.range])
        let length = UTF8Validation.truncatedLength(slice, limit: maxValueLength)
        return LocatedValue(
            ref: ValueRef(inScratch: false, offset: range.offset, count: UInt32(length)),
            hash: SeriesHash.hash(UnsafeRawBufferPointer(rebasing: slice[0..<length]))
        )
    }

    /// An enum's name, or its decimal number for values the OTLP schema does not define (spec §2.3).
    @inline(__always)
    private func enumValue(_ value: Int32, _ names: [LocatedValue], _ scratch: inout [UInt8]) -> LocatedValue {
        if value >= 0 && Int(value) < names.count { return names[Int(value)] }
        let start = scratch.count
        scratch.append(contentsOf: String(value).utf8)
        return scratchValue(from: start, &scratch)
    }

    private func scratchValue(from start: Int, _ scratch: inout [UInt8]) -> LocatedValue {
        scratch.withUnsafeBytes { all in
            let slice = UnsafeRawBufferPointer(rebasing: all[start...])
            let length = UTF8Validation.truncatedLength(slice, limit: maxValueLength)
            return LocatedValue(
                ref: ValueRef(inScratch: true, offset: UInt32(start), count: UInt32(length)),
                hash: SeriesHash.hash(UnsafeRawBufferPointer(rebasing: slice[0..<length]))
            )
        }
    }
}

/// The `service.name` key bytes, stable for the process's lifetime.
private enum ServiceKey {
    static let storage = StaticBytes(["service.name"])
    static var bytes: UnsafeRawBufferPointer { storage[0] }
}
