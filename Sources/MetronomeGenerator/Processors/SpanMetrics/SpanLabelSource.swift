/// Where the value of one span-metrics label comes from.
enum SpanLabelSource: Sendable, Equatable {
    case service
    case spanName
    case spanKind
    case statusCode
    case statusMessage
    /// An attribute, looked up in the resource first, then in the span; the first exact key match wins (spec §2.4).
    case attribute(key: [UInt8])
    /// The present, non-empty values of several attributes joined by `join` (spec §2.4, `dimension_mappings`).
    case mapping(keys: [[UInt8]], join: [UInt8])
    /// `service.namespace/service.name`, or `service.name` (with `enable_target_info`, spec §2.3).
    case job
    /// `service.instance.id` (with `enable_target_info` and `enable_instance_label`).
    case instance
}

/// One label of span-metrics series: its name and where its value comes from.
struct SpanMetricsColumn: Sendable, Equatable {
    var name: String
    var source: SpanLabelSource
}

extension SpanMetricsProcessor.Configuration {
    /// The labels series carry, in Tempo's label-builder order: the enabled intrinsics, then `dimensions`, then
    /// `dimension_mappings`, then `job` and `instance` when target_info is on. Where two share a name the later one alone is kept, so its value — even an empty one,
    /// which removes the label — wins, as in Tempo (spec §2.4 QUIRK).
    var columns: [SpanMetricsColumn] {
        var columns: [SpanMetricsColumn] = []
        if intrinsicDimensions.service { columns.append(.init(name: "service", source: .service)) }
        if intrinsicDimensions.spanName { columns.append(.init(name: "span_name", source: .spanName)) }
        if intrinsicDimensions.spanKind { columns.append(.init(name: "span_kind", source: .spanKind)) }
        if intrinsicDimensions.statusCode { columns.append(.init(name: "status_code", source: .statusCode)) }
        if intrinsicDimensions.statusMessage { columns.append(.init(name: "status_message", source: .statusMessage)) }
        for dimension in dimensions {
            columns.append(
                .init(name: LabelNames.dimensionLabel(dimension), source: .attribute(key: Array(dimension.utf8)))
            )
        }
        for mapping in dimensionMappings {
            columns.append(
                .init(
                    name: LabelNames.dimensionLabel(mapping.name),
                    source: .mapping(keys: mapping.sourceLabels.map { Array($0.utf8) }, join: Array(mapping.join.utf8))
                )
            )
        }
        if enableTargetInfo { columns.append(.init(name: "job", source: .job)) }
        if enableTargetInfo && enableInstanceLabel { columns.append(.init(name: "instance", source: .instance)) }
        var kept: [SpanMetricsColumn] = []
        for (index, column) in columns.enumerated()
        where !columns[(index + 1)...].contains(where: { $0.name == column.name }) {
            kept.append(column)
        }
        return kept
    }
}
