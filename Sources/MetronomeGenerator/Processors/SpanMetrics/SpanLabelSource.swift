/// Where the value of one span-metrics label comes from.
///
/// The column list is fixed when the processor is made; issue #3's custom dimensions and dimension mappings add
/// cases here without changing how series are keyed or stored.
enum SpanLabelSource: Sendable, Equatable {
    case service
    case spanName
    case spanKind
    case statusCode
    case statusMessage

    /// The label name Tempo gives the intrinsic (spec §2.3).
    var labelName: String {
        switch self {
        case .service: "service"
        case .spanName: "span_name"
        case .spanKind: "span_kind"
        case .statusCode: "status_code"
        case .statusMessage: "status_message"
        }
    }

    /// The enabled intrinsics in Tempo's label-builder order.
    static func columns(for intrinsics: SpanMetricsProcessor.IntrinsicDimensions) -> [SpanLabelSource] {
        var columns: [SpanLabelSource] = []
        if intrinsics.service { columns.append(.service) }
        if intrinsics.spanName { columns.append(.spanName) }
        if intrinsics.spanKind { columns.append(.spanKind) }
        if intrinsics.statusCode { columns.append(.statusCode) }
        if intrinsics.statusMessage { columns.append(.statusMessage) }
        return columns
    }
}
