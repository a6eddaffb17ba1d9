/// The names of OTLP's enums, indexed by value: how OTLP/JSON may spell them and the label values Tempo uses for
/// them (the protobuf enum value names, spec §2.3, §9.1 case 30).
public enum OTLPEnumNames {
    /// `Span.SpanKind`.
    public static let spanKinds = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ]
    /// `Status.StatusCode`.
    public static let statusCodes = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
}
