import MetronomeGenerator

extension MetricsGeneratorSection {
    /// `metrics_generator.processor.span_metrics`, and the same keys in an overrides block: Tempo's keys, decoded
    /// onto ``ProcessorSectionBase/current`` (the processor's defaults, or the main file's settings).
    public struct SpanMetrics: Decodable, Sendable, Equatable {
        public var processorConfiguration = SpanMetricsProcessor.Configuration()

        public init(_ processorConfiguration: SpanMetricsProcessor.Configuration = .init()) {
            self.processorConfiguration = processorConfiguration
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case histogramBuckets = "histogram_buckets"
            case intrinsicDimensions = "intrinsic_dimensions"
            case dimensions
            case dimensionMappings = "dimension_mappings"
            case spanMultiplierKey = "span_multiplier_key"
            case enableTracestateSpanMultiplier = "enable_tracestate_span_multiplier"
            case filterPolicies = "filter_policies"
            case enableTargetInfo = "enable_target_info"
            case targetInfoExcludedDimensions = "target_info_excluded_dimensions"
            case enableInstanceLabel = "enable_instance_label"
        }

        enum MappingKeys: String, CodingKey, CaseIterable {
            case name
            case sourceLabels = "source_labels"
            case join
        }

        enum IntrinsicKeys: String, CodingKey, CaseIterable {
            case service
            case spanName = "span_name"
            case spanKind = "span_kind"
            case statusCode = "status_code"
            case statusMessage = "status_message"
        }

        public init(from decoder: any Decoder) throws {
            let base = ProcessorSectionBase.current
            let keys = try decoder.strictContainer(CodingKeys.self)
            var configuration = base.spanMetrics
            configuration.histogramBuckets = try keys.value(.histogramBuckets, or: configuration.histogramBuckets)
            if keys.contains(.intrinsicDimensions) {
                // Merged key by key onto the base (spec §6).
                let intrinsics = try keys.superDecoder(forKey: .intrinsicDimensions).strictContainer(IntrinsicKeys.self)
                var dimensions = configuration.intrinsicDimensions
                dimensions.service = try intrinsics.value(.service, or: dimensions.service)
                dimensions.spanName = try intrinsics.value(.spanName, or: dimensions.spanName)
                dimensions.spanKind = try intrinsics.value(.spanKind, or: dimensions.spanKind)
                dimensions.statusCode = try intrinsics.value(.statusCode, or: dimensions.statusCode)
                dimensions.statusMessage = try intrinsics.value(.statusMessage, or: dimensions.statusMessage)
                configuration.intrinsicDimensions = dimensions
            }
            configuration.dimensions = try keys.value(.dimensions, or: configuration.dimensions)
            let multiplierKey = try keys.value(.spanMultiplierKey, or: configuration.spanMultiplierKey)
            if !(base.isOverride && multiplierKey.isEmpty) { configuration.spanMultiplierKey = multiplierKey }
            configuration.enableTracestateSpanMultiplier = try keys.value(
                .enableTracestateSpanMultiplier,
                or: configuration.enableTracestateSpanMultiplier
            )
            if keys.contains(.filterPolicies) {
                configuration.filterPolicies = try keys.value(.filterPolicies, or: [FilterPolicySection]()).map(
                    \.policy
                )
            }
            configuration.enableTargetInfo = try keys.value(.enableTargetInfo, or: configuration.enableTargetInfo)
            configuration.targetInfoExcludedDimensions = try keys.value(
                .targetInfoExcludedDimensions,
                or: configuration.targetInfoExcludedDimensions
            )
            configuration.enableInstanceLabel = try keys.value(
                .enableInstanceLabel,
                or: configuration.enableInstanceLabel
            )
            if keys.contains(.dimensionMappings) {
                configuration.dimensionMappings = []
                var list = try keys.nestedUnkeyedContainer(forKey: .dimensionMappings)
                while !list.isAtEnd {
                    let mapping = try list.superDecoder().strictContainer(MappingKeys.self)
                    configuration.dimensionMappings.append(
                        .init(
                            name: try mapping.value(.name, or: ""),
                            sourceLabels: try mapping.value(.sourceLabels, or: [String]()),
                            join: try mapping.value(.join, or: "")
                        )
                    )
                }
            }
            do {
                try configuration.validate()
            } catch {
                throw ConfigurationError(problem: error, in: decoder.codingPath)
            }
            processorConfiguration = configuration
        }
    }
}
