/// An index over one OTLP `ExportTraceServiceRequest`: every resource, span and attribute as offsets into the
/// request bytes, which the batch keeps.
///
/// Decoding allocates three arrays per request and nothing per span; processors read names, ids and attribute values
/// as byte slices through ``withBytes(_:)``. OTLP/JSON requests are transcoded to protobuf first
/// (``OTLPJSONTranscoder``) and indexed the same way, so every receiver feeds the same structure.
public struct SpanBatch: Sendable {
    /// The protobuf bytes every ``ByteRange`` of this batch points into.
    public let bytes: [UInt8]
    /// One record per `ResourceSpans`, in request order.
    public internal(set) var resources: [ResourceRecord] = []
    /// Every span of the request, grouped by resource (a resource's spans are contiguous).
    public internal(set) var spans: [SpanRecord] = []
    /// Every attribute key/value of every resource and span, each list contiguous.
    public internal(set) var attributes: [AttributeRecord] = []

    /// Bounds on what a request may contain, enforced while it is decoded.
    public struct Limits: Sendable, Equatable {
        /// The deepest nesting of array and key-value-list attribute values accepted: an attribute's own value is
        /// level 1. Go's protobuf stops at 10,000; real instrumentation stays within a handful.
        public var maxValueDepth: Int

        public init(maxValueDepth: Int = 64) {
            self.maxValueDepth = maxValueDepth
        }
    }

    /// Indexes an OTLP `ExportTraceServiceRequest` in protobuf encoding.
    ///
    /// - Throws: ``WireError`` naming what is malformed and where: bytes that are not the schema's, a span without a
    ///   16-byte trace id and a non-zero 8-byte span id (``WireError/invalidSpan(index:reason:)``), an attribute value
    ///   nested deeper than `limits` allow. Ids are checked here, as each span is read, so that a request of millions
    ///   of id-less spans is refused at its first span instead of being indexed whole.
    public init(protobuf bytes: [UInt8], limits: Limits = Limits()) throws(WireError) {
        guard bytes.count < Int(UInt32.max) else { throw .tooLarge(bytes: bytes.count) }
        self.bytes = bytes
        var decoder = SpanBatchDecoder(limits: limits)
        let failure: WireError? = bytes.withUnsafeBytes { raw in
            do throws(WireError) {
                try decoder.decodeRequest(raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        resources = decoder.resources
        spans = decoder.spans
        attributes = decoder.attributes
    }

    /// Gives read access to the batch's bytes for resolving ``ByteRange``s without copying.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// The number of spans in the batch.
    public var spanCount: Int { spans.count }
}

/// One `ResourceSpans`: where its attributes and spans are in the batch's arrays.
public struct ResourceRecord: Sendable {
    /// Indices into ``SpanBatch/attributes``.
    public var attributes: Range<Int32>
    /// Indices into ``SpanBatch/spans``.
    public var spans: Range<Int32>
}

/// One span, as offsets and scalars. 72 bytes; strings and ids stay in the request buffer.
public struct SpanRecord: Sendable {
    public var traceID: ByteRange = .empty
    public var spanID: ByteRange = .empty
    public var parentSpanID: ByteRange = .empty
    public var traceState: ByteRange = .empty
    public var name: ByteRange = .empty
    public var statusMessage: ByteRange = .empty
    public var startTimeUnixNano: UInt64 = 0
    public var endTimeUnixNano: UInt64 = 0
    /// Indices into ``SpanBatch/attributes``.
    public var attributeStart: Int32 = 0
    public var attributeCount: Int32 = 0
    /// The OTLP `Span.SpanKind` value as sent (unknown values are kept).
    public var kind: Int32 = 0
    /// The OTLP `Status.StatusCode` value as sent; 0 (UNSET) when the status is missing.
    public var statusCode: Int32 = 0
    /// The encoded size of the `Span` message in bytes (Tempo's `traces_spanmetrics_size_total` increment).
    public var encodedSize: UInt32 = 0
    /// Index of the span's resource in ``SpanBatch/resources``.
    public var resourceIndex: Int32 = 0

    /// Indices into ``SpanBatch/attributes``.
    @inlinable
    public var attributes: Range<Int> { Int(attributeStart)..<Int(attributeStart + attributeCount) }
}

/// The value type of an OTLP `AnyValue`.
public enum AttributeValueType: UInt8, Sendable {
    case empty = 0
    case string, bool, int, double, array, keyValueList, bytes
}

/// One attribute: its key and its value, either as a range of bytes or as a 64-bit scalar.
public struct AttributeRecord: Sendable {
    public var key: ByteRange
    public var type: AttributeValueType
    /// For `string`, `bytes`, `array` and `keyValueList`: the payload's bytes (for the last two, the encoded
    /// `ArrayValue`/`KeyValueList` message). Unused otherwise.
    public var value: ByteRange
    /// For `bool`, `int` and `double`: the value's 64 bits (a double as its bit pattern). Zero otherwise.
    public var scalar: UInt64

    public var boolValue: Bool { scalar != 0 }
    public var intValue: Int64 { Int64(bitPattern: scalar) }
    public var doubleValue: Double { Double(bitPattern: scalar) }
}
