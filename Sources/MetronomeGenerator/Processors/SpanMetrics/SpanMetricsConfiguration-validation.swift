extension SpanMetricsProcessor.Configuration {
    /// Checks what Tempo checks when it creates the processor (`validation.ValidateDimensions`): a mapping may not
    /// produce the label of a dimension or of another mapping; and the buckets are usable.
    /// - Throws: ``ConfigurationProblem`` naming the colliding mapping and label, or the buckets.
    public func validate() throws(ConfigurationProblem) {
        try HistogramBounds.validate(histogramBuckets)
        var dimensionLabels = Set<String>()
        for dimension in dimensions { dimensionLabels.insert(LabelNames.dimensionLabel(dimension)) }
        var mappingLabels: [String: String] = [:]
        for mapping in dimensionMappings {
            guard !mapping.name.isEmpty, !mapping.sourceLabels.isEmpty else {
                throw ConfigurationProblem("a dimension mapping needs a name and source_labels")
            }
            let label = LabelNames.dimensionLabel(mapping.name)
            if dimensionLabels.contains(label) {
                let dimension = dimensions.first { LabelNames.dimensionLabel($0) == label } ?? label
                throw ConfigurationProblem(
                    "dimension_mapping \"\(mapping.name)\" produces label \"\(label)\" which collides with dimension \"\(dimension)\""
                )
            }
            if let other = mappingLabels[label] {
                throw ConfigurationProblem(
                    "dimension_mapping \"\(mapping.name)\" produces label \"\(label)\" which collides with dimension_mapping \"\(other)\""
                )
            }
            mappingLabels[label] = mapping.name
        }
    }
}
