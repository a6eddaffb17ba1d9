import Logging
import MetronomeGenerator

@testable import MetronomeServer

extension RuntimeOverrides {
    /// Overrides that give every tenant `configuration` and `ingestion`, with no overrides file.
    static func fixed(
        _ configuration: Generator.Configuration = .init(),
        ingestion: IngestionRateLimiter.Configuration = .init()
    ) -> RuntimeOverrides {
        var defaults = TenantOverrides()
        defaults.ingestion = ingestion
        defaults.generator.processors = configuration.processors
        defaults.generator.maxActiveSeries = configuration.limits.maxActiveSeries
        defaults.generator.maxActiveEntities = configuration.limits.maxActiveEntities
        defaults.generator.maxCardinalityPerLabel = configuration.limits.maxCardinalityPerLabel
        defaults.generator.disableCollection = configuration.disableCollection
        defaults.generator.traceIDLabelName = configuration.registry.traceIDLabelName
        defaults.generator.spanMetrics = configuration.spanMetrics
        defaults.generator.serviceGraphs = configuration.serviceGraphs
        return RuntimeOverrides(
            base: configuration,
            defaults: defaults,
            path: nil,
            processor: .init(),
            logger: Logger(label: "test")
        )
    }
}
