import MetronomeGenerator

extension MetricsGeneratorSection {
    /// `metrics_generator.processor.host_info`, and the same keys in an overrides block (`host_identifiers` replaces
    /// when set, `metric_name` when non-empty), decoded onto ``ProcessorSectionBase/current``.
    public struct HostInfo: Decodable, Sendable, Equatable {
        public var processorConfiguration = HostInfoProcessor.Configuration()

        public init(_ processorConfiguration: HostInfoProcessor.Configuration = .init()) {
            self.processorConfiguration = processorConfiguration
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case hostIdentifiers = "host_identifiers"
            case metricName = "metric_name"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            var configuration = ProcessorSectionBase.current.hostInfo
            configuration.hostIdentifiers = try keys.value(.hostIdentifiers, or: configuration.hostIdentifiers)
            let metricName = try keys.value(.metricName, or: "")
            if !metricName.isEmpty { configuration.metricName = metricName }
            do {
                try configuration.validate()
            } catch {
                throw ConfigurationError(problem: error, in: decoder.codingPath)
            }
            processorConfiguration = configuration
        }
    }
}
